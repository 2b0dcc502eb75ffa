"""Migration 0011 and corrected timeline entries, on SQLite and PostgreSQL: nothing said is lost."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import Connection, text

from bot.incidents.errors import IncidentNotFound, InvalidInput
from bot.incidents.model import Milestone
from bot.incidents.service import IncidentService
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.repository import Store
from tests.fakes import FixedClock


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_migration_0011_keeps_every_entry_and_reads_them_as_never_edited(
    store: Store, service: IncidentService, clock: FixedClock
) -> None:
    setup = await service.declare(title="Disk full", actor="U1", severity="SEV2")
    incident_id = setup.incident.id
    await service.add_note(incident_id=incident_id, text="Cleared /var/log", actor="U1")
    before = await service.snapshot(incident_id=incident_id)
    async with store.engine.begin() as conn:
        await conn.run_sync(_downgrade, "0009")
    assert await current_revision(store.engine) == "0009"
    async with store.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM timeline_event"))).scalar_one()
    assert count == len(before.timeline)
    await upgrade(store.engine)
    assert await current_revision(store.engine) == head_revision()
    after = await service.snapshot(incident_id=incident_id)
    assert [(e.at, e.text) for e in after.timeline] == [(e.at, e.text) for e in before.timeline]
    assert all(e.edited_at is None and e.edited_by is None and e.previous == () for e in after.timeline)


async def test_each_correction_keeps_the_version_before_it(
    service: IncidentService, clock: FixedClock
) -> None:
    incident_id = (await service.declare(title="Disk full", actor="U1")).incident.id
    await service.add_note(incident_id=incident_id, text="Cleared logs", actor="U1")
    note = (await service.snapshot(incident_id=incident_id)).timeline[-1]
    assert note.id is not None
    clock.advance(minutes=5)
    earlier = note.at - timedelta(minutes=2)
    first = await service.edit_entry(
        incident_id=incident_id, entry_id=note.id, actor="U2", text="Cleared /var/log"
    )
    clock.advance(minutes=5)
    second = await service.edit_entry(incident_id=incident_id, entry_id=note.id, actor="U3", at=earlier)
    assert first.moved is None and second.moved is None  # a note holds no milestone
    entry = second.entry
    assert (entry.text, entry.at, entry.edited_by) == ("Cleared /var/log", earlier, "U3")
    assert [(v.text, v.at, v.edited_by) for v in entry.previous] == [
        ("Cleared logs", note.at, None),
        ("Cleared /var/log", note.at, "U2"),
    ]
    # Nothing to change: nothing recorded.
    same = await service.edit_entry(
        incident_id=incident_id, entry_id=note.id, actor="U4", text="Cleared /var/log"
    )
    assert same.entry.edited_by == "U3" and len(same.entry.previous) == 2


async def test_moving_a_milestones_entry_moves_the_milestone_and_stats(
    store: Store, service: IncidentService, clock: FixedClock
) -> None:
    incident_id = (await service.declare(title="Disk full", actor="U1")).incident.id
    declared = clock.now()
    clock.advance(minutes=10)
    await service.mark_mitigated(incident_id=incident_id, actor="U1")
    clock.advance(minutes=10)
    await service.resolve(incident_id=incident_id, actor="U1")
    snap = await service.snapshot(incident_id=incident_id)
    by_kind = {e.kind: e for e in snap.timeline}
    for kind, milestone, moved_to in (
        ("mitigated", Milestone.MITIGATED, declared + timedelta(minutes=4)),
        ("resolved", Milestone.RESOLVED, declared + timedelta(minutes=15)),
        ("declared", Milestone.DECLARED, declared - timedelta(minutes=1)),
    ):
        entry_id = by_kind[kind].id
        assert entry_id is not None
        edit = await service.edit_entry(incident_id=incident_id, entry_id=entry_id, actor="U2", at=moved_to)
        assert edit.moved is milestone
        assert (
            getattr((await service.snapshot(incident_id=incident_id)).milestones, milestone.value) == moved_to
        )
    async with store.transaction() as repo:
        (row,) = await repo.stats_rows(since=declared - timedelta(days=1), until=declared + timedelta(days=1))
    micros = 60_000_000
    assert (
        row.mitigated_us - row.declared_us == 5 * micros and row.resolved_us - row.declared_us == 16 * micros
    )
    with pytest.raises(InvalidInput, match="stays on the timeline"):
        await service.edit_entry(
            incident_id=incident_id, entry_id=by_kind["resolved"].id or 0, actor="U2", delete=True
        )


async def test_refusals_change_nothing(service: IncidentService) -> None:
    first = (await service.declare(title="One", actor="U1")).incident.id
    second = (await service.declare(title="Two", actor="U1")).incident.id
    secret = (await service.declare(title="Secret", actor="U1", private=True)).incident.id
    await service.add_note(incident_id=first, text="Note on one", actor="U1")
    await service.add_note(incident_id=secret, text="Secret note", actor="U1")
    note = (await service.snapshot(incident_id=first)).timeline[-1]
    hidden = (await service.snapshot(incident_id=secret)).timeline[-1]
    assert note.id is not None and hidden.id is not None
    with pytest.raises(InvalidInput, match=f"INC-{second} has no timeline entry {note.id}"):
        await service.edit_entry(incident_id=second, entry_id=note.id, actor="U1", text="moved")
    with pytest.raises(IncidentNotFound):
        await service.edit_entry(incident_id=secret, entry_id=hidden.id, actor="U9", text="mine now")
    with pytest.raises(IncidentNotFound):
        await service.latest_entries(incident_id=secret, user_id="U9", limit=10, offset=0)
    with pytest.raises(InvalidInput, match="needs some text"):
        await service.edit_entry(incident_id=first, entry_id=note.id, actor="U1", text="  ")
    assert (await service.snapshot(incident_id=first)).timeline[-1] == note
    assert (await service.snapshot(incident_id=secret)).timeline[-1] == hidden


async def test_moving_a_severity_change_moves_the_severity_history_stats_read(
    store: Store, service: IncidentService, clock: FixedClock
) -> None:
    incident_id = (await service.declare(title="Disk full", actor="U1", severity="SEV3")).incident.id
    declared = clock.now()
    clock.advance(minutes=30)
    await service.set_severity(incident_id=incident_id, severity="SEV1", actor="U1")
    change = next(
        e for e in (await service.snapshot(incident_id=incident_id)).timeline if e.kind == "severity"
    )
    assert change.id is not None
    moved_to = declared + timedelta(minutes=10)  # it was SEV1 much earlier than anyone said
    await service.edit_entry(incident_id=incident_id, entry_id=change.id, actor="U2", at=moved_to)
    async with store.transaction() as repo:
        (row,) = await repo.stats_rows(since=declared - timedelta(days=1), until=declared + timedelta(days=1))
    changes = json.loads(row.severity_changes)
    assert [code for _, code in changes] == ["SEV3", "SEV1"] and changes[1][0] - changes[0][0] == 600_000_000
    with pytest.raises(InvalidInput, match="severity change stays"):
        await service.edit_entry(incident_id=incident_id, entry_id=change.id, actor="U2", delete=True)
