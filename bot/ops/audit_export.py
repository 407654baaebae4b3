"""`python -m bot audit export`: the audit trail as CSV or JSON lines, for compliance records."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

from bot.ops.output_file import cannot_write, write_whole
from bot.settings import Settings
from bot.store import AuditRecord
from bot.store.existing import DatabaseNotReady, open_current

COLUMNS = ("id", "at", "org_id", "target_type", "target_id", "target_name", "person_id",
           "person_email", "room_id", "source", "action", "outcome", "reason", "tracking_id",
           "before", "after", "event_key", "acted_with", "repeats")


def parse_since(text: str | None) -> datetime | None:
    """A date (YYYY-MM-DD, midnight UTC) or an ISO timestamp; naive means UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        print(f"error: --since {text!r} is not a date like 2026-11-01", file=sys.stderr)
        raise SystemExit(2) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def row(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.id, "at": record.at.astimezone(UTC).isoformat(), "org_id": record.org_id,
        "target_type": record.target_type, "target_id": record.target_id,
        "target_name": record.target_name,
        "person_id": record.person_id, "person_email": record.person_email,
        "room_id": record.room_id, "source": record.source, "action": record.action,
        "outcome": record.outcome, "reason": record.reason, "tracking_id": record.tracking_id,
        "before": record.before, "after": record.after, "event_key": record.event_key,
        "acted_with": record.acted_with,
        "repeats": record.repeats,  # the same refusal again within a minute, counted here
    }


def write(records: Iterable[AuditRecord], fmt: str, out: IO[str]) -> int:
    count = 0
    if fmt == "jsonl":
        for record in records:
            out.write(json.dumps(row(record), ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for record in records:
        data = row(record)
        for key in ("before", "after"):
            data[key] = json.dumps(data[key]) if data[key] is not None else ""
        writer.writerow(data)
        count += 1
    return count


def _write_file(records: list[AuditRecord], fmt: str, output: str) -> int:
    return write_whole(output, lambda out: write(records, fmt, out))


async def export_audit(settings: Settings, fmt: str, since: str | None, output: str | None) -> int:
    """Exit status 0 written, 1 the output file cannot be written (nothing of it is left),
    2 bad input or no such database (it is never created)."""
    start = parse_since(since)
    try:
        store = await open_current(settings.DATABASE_URL)
    except DatabaseNotReady as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        records = await store.list_audit(None, limit=None, since=start, newest_first=False)
    finally:
        await store.close()
    if output:
        try:
            count = await asyncio.to_thread(_write_file, records, fmt, output)
        except OSError as error:
            print(cannot_write(output, error), file=sys.stderr)
            return 1
        print(f"wrote {count} audit records to {output}", file=sys.stderr)
    else:
        write(records, fmt, sys.stdout)
    return 0
