"""`python -m bot coverage`: every Webex Calling location's coverage as CSV or JSON lines.

The same reader and rule as the chat's `coverage` report, with no row limit. Nothing is written
to Webex. The summary ("N of M locations covered") goes to standard error; the exit status is 0
for a complete report, 1 when a page of the list could not be read (the rows are then not every
location), 2 when the organization's setting could not be read, there is no such database
(it is never created nor migrated: bot.store.existing.open_current) or the output file cannot be
written (nothing of it is left: bot.ops.output_file).
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Iterable
from typing import IO, Any

import aiohttp

from bot.compliance.coverage import CoverageReader, CoverageSnapshot, LocationCoverage, Reason
from bot.errors import BotError
from bot.ops.output_file import cannot_write, write_whole
from bot.settings import Settings
from bot.store import Store
from bot.store.existing import DatabaseNotReady, open_current
from bot.webex.answers import ADMIN_REJECTED
from bot.webex.auth import admin_identity
from bot.webex.locations import LocationsClient
from bot.webex.pacing import OrgPacer
from bot.webex.rest import WebexRest, as_admin, webex_session
from bot.webex.retry import RetryPolicy
from bot.webex.telephony import TelephonyClient

COLUMNS = ("location_id", "location_name", "covered", "status", "reason", "email",
           "email_source", "own_enabled", "own_email", "tracking_id")
SOURCES = {Reason.OWN_ADDRESS: "location", Reason.ORG_ADDRESS: "organization"}


def row(item: LocationCoverage) -> dict[str, Any]:
    """One location as the export writes it."""
    own = item.setting
    status = {Reason.UNREADABLE: "unreadable", Reason.GONE: "gone"}.get(
        item.verdict.reason, "covered" if item.covered else "not covered")
    return {
        "location_id": item.id, "location_name": item.name, "covered": item.covered,
        "status": status, "reason": item.verdict.reason.value, "email": item.verdict.email,
        "email_source": SOURCES.get(item.verdict.reason),
        "own_enabled": own.enabled if own else None, "own_email": own.email if own else None,
        "tracking_id": item.tracking_id,
    }


def write(items: Iterable[LocationCoverage], fmt: str, out: IO[str]) -> int:
    """Write the rows; return how many."""
    rows = [row(item) for item in items]
    if fmt == "jsonl":
        out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        return len(rows)
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else str(v).lower() if isinstance(v, bool) else v)
                         for k, v in r.items()})
    return len(rows)


def summary(snapshot: CoverageSnapshot) -> str:
    """The headline, and whether the list was complete."""
    text = f"{snapshot.covered} of {len(snapshot.counted)} locations covered"
    if not snapshot.complete:
        text += f"; INCOMPLETE: {snapshot.problem} (tracking id {snapshot.tracking_id})"
    return text


async def read_coverage(settings: Settings, session: aiohttp.ClientSession,
                        store: Store) -> CoverageSnapshot:
    """The organization's coverage, read with the admin identity `serve` uses."""
    auth = admin_identity(settings, session, store)  # the same admin identity `serve` builds
    if auth is None:
        raise BotError("No admin identity: set WEBEX_ADMIN_TOKEN, or the Service App's "
                       "WEBEX_CLIENT_ID, WEBEX_CLIENT_SECRET and WEBEX_ADMIN_REFRESH_TOKEN.")
    policy = RetryPolicy(max_retries=settings.WEBEX_MAX_RETRIES,
                         retry_after_cap=settings.RETRY_AFTER_CAP_SECONDS)
    rest = WebexRest(session, settings.WEBEX_API_URL, timeout=settings.WEBEX_TIMEOUT_SECONDS)
    org_id = settings.WEBEX_ORG_ID
    if not org_id:
        me = await as_admin(auth, lambda token: rest.request(
            "GET", "/people/me", token, endpoint="GET /people/me", rejected=ADMIN_REJECTED),
            policy)
        org_id = me.get("orgId") if isinstance(me, dict) else None
        if not org_id:
            raise BotError("The admin identity has no organization; set WEBEX_ORG_ID.")
    reader = CoverageReader(
        TelephonyClient(rest, auth, policy=policy),
        LocationsClient(rest, auth, OrgPacer(settings.WEBEX_MAX_CONCURRENCY), policy=policy),
    )
    return await reader.read(org_id)


def _write_file(items: tuple[LocationCoverage, ...], fmt: str, output: str) -> int:
    return write_whole(output, lambda out: write(items, fmt, out))


async def export_coverage(settings: Settings, fmt: str, output: str | None) -> int:
    """Run the report and write it; the exit status says whether it is complete."""
    try:
        store = await open_current(settings.DATABASE_URL)
    except DatabaseNotReady as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        async with webex_session() as session:
            snapshot = await read_coverage(settings, session, store)
    except BotError as error:
        tracking = f" (tracking id {error.tracking_id})" if error.tracking_id else ""
        print(f"error: {error.user_message}{tracking}", file=sys.stderr)
        return 2
    finally:
        await store.close()
    if output:
        try:
            count = await asyncio.to_thread(_write_file, snapshot.locations, fmt, output)
        except OSError as error:
            print(cannot_write(output, error), file=sys.stderr)
            return 2  # not 1: nothing was written, which is not an incomplete list
        print(f"wrote {count} locations to {output}", file=sys.stderr)
    else:
        write(snapshot.locations, fmt, sys.stdout)
    print(summary(snapshot), file=sys.stderr)
    return 0 if snapshot.complete else 1
