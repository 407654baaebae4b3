"""The audit trail: resumable change rows, one-shot refusals, listing."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from bot.store import AuditRecord, Store

from .conftest import NOW


def record(**changes: object) -> AuditRecord:
    base = AuditRecord(
        id=None, at=NOW, event_key="attachmentActions:a1", org_id="org-1", person_id="p-1",
        person_email="admin@example.com", room_id="room-1", source="card",
        action="enable_notifications", before={"enabled": False}, after=None, outcome="pending",
        reason=None, tracking_id=None,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_begin_change_inserts_a_pending_row_and_finish_settles_it(store: Store) -> None:
    row = await store.begin_change(record(outcome="applied"))
    assert row.id is not None and row.outcome == "pending"
    assert await store.finish_change(
        row.id, "applied", after={"enabled": True}, tracking_id="ROUTER_1"
    )
    [saved] = await store.list_audit("org-1")
    assert (saved.outcome, saved.after, saved.tracking_id) == (
        "applied",
        {"enabled": True},
        "ROUTER_1",
    )
    assert saved.before == {"enabled": False} and saved.at == NOW


async def test_a_change_that_changed_nothing_is_settled_as_unchanged(store: Store) -> None:
    row = await store.begin_change(record(after={"enabled": False}))
    assert row.id is not None
    assert await store.finish_change(row.id, "unchanged", after={"enabled": False})
    [saved] = await store.list_audit("org-1")
    assert (saved.outcome, saved.before, saved.after) == (
        "unchanged", {"enabled": False}, {"enabled": False})


async def test_a_settled_row_is_never_rewritten(store: Store) -> None:
    row = await store.begin_change(record())
    assert row.id is not None
    await store.finish_change(row.id, "failed", reason="telephony said 500")
    assert not await store.finish_change(row.id, "applied", after={"enabled": True})
    [saved] = await store.list_audit()
    assert (saved.outcome, saved.reason, saved.after) == ("failed", "telephony said 500", None)


async def test_begin_change_resumes_the_row_of_the_same_event(store: Store) -> None:
    first = await store.begin_change(record())
    again = await store.begin_change(record(at=NOW + timedelta(minutes=1), before={"x": 1}))
    assert again == first
    assert len(await store.list_audit()) == 1


async def test_concurrent_begin_change_for_one_event_gives_one_row(store: Store) -> None:
    rows = await asyncio.gather(*(store.begin_change(record()) for _ in range(10)))
    assert len({r.id for r in rows}) == 1
    assert len(await store.list_audit()) == 1


async def test_rows_without_event_key_never_collide(store: Store) -> None:
    await store.add_audit(record(event_key=None, outcome="refused", reason="not an admin"))
    await store.add_audit(record(event_key=None, outcome="refused", reason="not an admin"))
    assert len(await store.list_audit()) == 2


async def test_add_audit_returns_the_existing_row_for_its_event(store: Store) -> None:
    refused = await store.add_audit(record(outcome="refused", reason="not an admin"))
    assert refused.outcome == "refused"
    assert await store.add_audit(record(outcome="refused", reason="again")) == refused


async def test_list_audit_filters_orders_and_limits(store: Store) -> None:
    for i in range(5):
        await store.add_audit(record(event_key=f"e{i}", at=NOW + timedelta(minutes=i),
                                     outcome="refused"))  # fmt: skip
    await store.add_audit(record(event_key="other", org_id="org-2", outcome="refused"))

    newest = await store.list_audit("org-1", limit=3)
    assert [r.event_key for r in newest] == ["e4", "e3", "e2"]
    oldest = await store.list_audit("org-1", limit=2, newest_first=False)
    assert [r.event_key for r in oldest] == ["e0", "e1"]
    since = await store.list_audit("org-1", since=NOW + timedelta(minutes=3), limit=None)
    assert [r.event_key for r in since] == ["e4", "e3"]
    assert len(await store.list_audit(limit=None)) == 6
    assert len(await store.list_audit()) == 6  # default limit 10


async def test_same_instant_rows_list_in_insertion_order(store: Store) -> None:
    for i in range(3):
        await store.add_audit(record(event_key=f"e{i}", outcome="refused"))
    assert [r.event_key for r in await store.list_audit()] == ["e2", "e1", "e0"]


@pytest.mark.parametrize(("field", "value"), [("source", "email"), ("outcome", "maybe")])
async def test_unknown_source_or_outcome_is_refused(store: Store, field: str, value: str) -> None:
    with pytest.raises(ValueError):
        await store.add_audit(record(**{field: value}))


async def test_rows_carry_their_target_and_history_filters_by_it(store: Store) -> None:
    org_row = await store.add_audit(record(event_key="e-org", outcome="refused"))
    place = await store.add_audit(record(event_key="e-loc", outcome="refused",
                                         target_type="location", target_id="loc-1",
                                         target_name="Riverside Clinic"))
    assert (org_row.target_type, org_row.target_id) == ("organization", "org-1")
    assert (place.target_type, place.target_id, place.target_name) == (
        "location", "loc-1", "Riverside Clinic")
    assert await store.list_audit("org-1", target_id="loc-1") == [place]
    assert await store.list_audit("org-1", target_id="org-1") == [org_row]
    with pytest.raises(ValueError, match="location"):
        await store.add_audit(record(event_key="e-bad", target_type="location"))
    named = await store.add_audit(record(event_key="e-named", outcome="refused",
                                         target_type="location", target_name="Nowhere"))
    assert (named.target_id, named.target_name) == (None, "Nowhere")
    # `disable at` with no name: refused, and a location's row, though it names none.
    unnamed = await store.add_audit(record(event_key="e-unnamed", outcome="refused",
                                           target_type="location"))
    assert (unnamed.target_type, unnamed.target_id, unnamed.target_name) == (
        "location", None, None)
    with pytest.raises(ValueError, match="target"):
        await store.add_audit(record(event_key="e-bad", target_type="room"))
