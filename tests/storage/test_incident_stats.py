"""incident_stats: every write keeps each incident's stats row what a fresh computation gives, and
migration 0004 fills the rows of incidents stored before it."""

from __future__ import annotations

import random
from dataclasses import fields
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text

from bot.incidents.model import Milestone, Status
from bot.incidents.service import IncidentService
from readmodel.milestones import unix_micros
from readmodel.stats import StatsRow
from storage.migrate import upgrade
from storage.models import IncidentStats
from storage.repository import Store
from storage.stats import MICROS_COLUMNS, millisecond_micros, refresh_incident_stats
from tests.fakes import FixedClock


async def _stored(store: Store) -> dict[int, dict[str, Any]]:
    async with store.transaction() as repo:
        rows = (await repo.session.execute(select(IncidentStats))).scalars().all()
        return {row.incident_id: row.model_dump() for row in rows}


async def _recomputed(store: Store) -> dict[int, dict[str, Any]]:
    """The rows a rebuild from scratch writes (rolled back, so the stored ones stay as they were)."""
    async with store.engine.connect() as conn:
        transaction = await conn.begin()
        await conn.run_sync(refresh_incident_stats, None)
        result = await conn.execute(select(IncidentStats))
        rows = {row.incident_id: dict(row._mapping) for row in result}
        await transaction.rollback()
    return rows


async def test_every_write_keeps_the_stats_rows_exact(
    store: Store, service: IncidentService, clock: FixedClock
) -> None:
    rng = random.Random(7)
    ids: list[int] = []
    for step in range(120):
        clock.advance(seconds=rng.randrange(1, 900), microseconds=rng.randrange(1_000_000))
        action = rng.randrange(10)
        if action == 0 or not ids:
            setup = await service.declare(
                title=f"Outage {step}",
                actor="U1",
                severity=rng.choice(("SEV1", "SEV2", "SEV3")),
                services=rng.choice((["api"], ["api", "web"], [])),
                private=rng.random() < 0.2,
                detected_at=clock.now() - timedelta(minutes=rng.randrange(30))
                if rng.random() < 0.5
                else None,
            )
            ids.append(setup.incident.id)
            continue
        incident_id = rng.choice(ids)
        snap = await service.snapshot(incident_id=incident_id)
        try:
            if action == 1:
                await service.set_severity(
                    incident_id=incident_id, severity=rng.choice(("SEV1", "SEV2", "SEV3", "SEV4")), actor="U2"
                )
            elif action == 2:
                await service.set_status(incident_id=incident_id, status=Status.IDENTIFIED, actor="U2")
            elif action == 3:
                await service.acknowledge(incident_id=incident_id, actor="U2")
            elif action == 4:
                milestone = rng.choice(
                    (
                        Milestone.IMPACT_STARTED,
                        Milestone.DETECTED,
                        Milestone.MITIGATED,
                        Milestone.IMPACT_ENDED,
                    )
                )
                at = clock.now() - timedelta(minutes=rng.randrange(120), microseconds=rng.randrange(10**6))
                await service.set_milestone(incident_id=incident_id, milestone=milestone, actor="U2", at=at)
            elif action == 5:
                await service.resolve(incident_id=incident_id, actor="U2", override_gates=True)
            elif action == 6:
                await service.reopen(incident_id=incident_id, actor="U2")
            elif action == 7:
                await service.close(incident_id=incident_id, actor="U2")
            elif action == 8:
                await service.add_note(incident_id=incident_id, text=f"note {step}", actor="U2")
            else:
                await service.resolve(
                    incident_id=incident_id,
                    actor="U2",
                    at=clock.now() - timedelta(minutes=rng.randrange(60)),
                    override_gates=True,
                )
        except Exception as exc:  # a change the incident's state refuses (already resolved, …)
            assert type(exc).__module__.startswith("bot."), exc
            assert await service.snapshot(incident_id=incident_id) == snap  # refused: nothing changed
        if step % 10 == 0:
            assert await _stored(store) == await _recomputed(store), f"after step {step}"
    assert len(ids) > 5
    assert await _stored(store) == await _recomputed(store)


async def test_migration_fills_the_rows_of_incidents_stored_before_it(
    store: Store, service: IncidentService
) -> None:
    for n in range(5):
        setup = await service.declare(title=f"Before {n}", actor="U1", severity="SEV2")
        await service.set_severity(incident_id=setup.incident.id, severity="SEV1", actor="U1")
    expected = await _stored(store)
    assert len(expected) == 5
    try:
        async with store.engine.begin() as conn:  # as a database from before migration 0004 was
            await conn.execute(text("DROP TABLE incident_stats"))
            await conn.execute(text("ALTER TABLE incident DROP COLUMN revision"))  # 0005
            await conn.execute(text("ALTER TABLE incident DROP COLUMN card_revision"))  # 0007
            await conn.execute(text("DROP INDEX ix_timeline_event_lines"))
            await conn.execute(text("ALTER TABLE timeline_event DROP COLUMN line_posted"))
            await conn.execute(text("DROP INDEX ix_processed_delivery_pending"))  # 0006
            for column in ("body", "done_at", "claimed_by", "claimed_until", "attempts", "outcome"):
                await conn.execute(text(f"ALTER TABLE processed_delivery DROP COLUMN {column}"))
            await conn.execute(text("ALTER TABLE participant DROP COLUMN left_at"))  # 0008
            await conn.execute(text("ALTER TABLE incident DROP COLUMN setup_claimed_by"))  # 0009
            await conn.execute(text("DROP TABLE page"))  # 0012
            await conn.execute(text("DROP TABLE alert_group"))
            await conn.execute(text("DROP TABLE statuspage_incident"))  # 0013
            await conn.execute(text("DROP INDEX ix_followup_ticket_state"))
            await conn.execute(text("DROP INDEX ix_followup_ticket_key"))
            for column in (
                "tracker",
                "ticket_state",
                "ticket_key",
                "ticket_url",
                "ticket_error",
                "ticket_claimed_at",
                "ticket_claimed_by",
                "done_at",
            ):
                await conn.execute(text(f"ALTER TABLE followup DROP COLUMN {column}"))
            await conn.execute(text("ALTER TABLE incident DROP COLUMN incident_type"))  # 0010
            await conn.execute(text("ALTER TABLE incident DROP COLUMN custom_fields"))
            for column in ("edited_at", "edited_by", "previous"):  # 0011
                await conn.execute(text(f"ALTER TABLE timeline_event DROP COLUMN {column}"))
            await conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    finally:
        await upgrade(store.engine)
    assert await _stored(store) == expected


def test_a_stats_row_is_read_from_the_columns_of_its_name() -> None:
    read = [field.name for field in fields(StatsRow)]
    assert [name for name in IncidentStats.model_fields if name in read] == read
    assert tuple(name for name in read if name.endswith("_us")) == MICROS_COLUMNS


async def test_the_stats_window_starts_and_ends_by_the_domain_s_rule(
    store: Store, service: IncidentService, clock: FixedClock
) -> None:
    """incident_stats' window (what stats_rows selects by) is the snapshot's start and end of impact."""
    detected = clock.now() - timedelta(minutes=20, microseconds=1500)
    ids = [
        (await service.declare(title="Declared only", actor="U1")).incident.id,
        (await service.declare(title="Detected", actor="U1", detected_at=detected)).incident.id,
        (
            await service.declare(
                title="Impact",
                actor="U1",
                detected_at=detected,
                impact_started_at=detected - timedelta(minutes=7, microseconds=499),
            )
        ).incident.id,
    ]
    clock.advance(minutes=5, microseconds=250)
    await service.set_milestone(
        incident_id=ids[0], milestone=Milestone.MITIGATED, actor="U1", at=clock.now() - timedelta(minutes=1)
    )
    await service.resolve(incident_id=ids[1], actor="U1", override_gates=True)
    await service.set_milestone(
        incident_id=ids[2],
        milestone=Milestone.IMPACT_ENDED,
        actor="U1",
        at=clock.now() - timedelta(minutes=2),
    )
    stored = await _stored(store)
    for incident_id in ids:
        m = (await service.snapshot(incident_id=incident_id)).milestones
        assert m.start is not None and m.impact_end is not None
        row = stored[incident_id]
        assert (row["window_start_us"], row["window_end_us"]) == (
            unix_micros(m.start),
            unix_micros(m.impact_end),
        )


def test_milliseconds_round_as_python_s_round_does() -> None:
    assert millisecond_micros(None) is None
    assert millisecond_micros(1_700_000_000.0) == 1_700_000_000_000_000
    assert millisecond_micros(1_700_000_000.1234) == 1_700_000_000_123_000
    assert millisecond_micros(1_700_000_000.1236) == 1_700_000_000_124_000
    assert millisecond_micros(0.4375) == 438_000  # exactly half a millisecond: to the even one
    assert millisecond_micros(0.6875) == 688_000
    assert millisecond_micros(1.0005) == 1_000_000  # the double lies just below the half
    assert millisecond_micros(-0.0015) == -2_000  # before 1970: the double lies just above (further out)
    # Its quick path (the product with 1000 rounded) is the same as round(seconds, 3) everywhere.
    rng = random.Random(11)
    for n in range(200_000):
        micros = rng.randrange(-2 * 10**15, 8 * 10**15)  # 1906 … 2223
        if n % 2:
            micros += 500 - micros % 1000  # …500 µs: the halves
        for seconds in (micros / 1_000_000, (micros - micros % 1000) / 1_000_000 + rng.uniform(-4e-8, 4e-8)):
            assert millisecond_micros(seconds) == round(round(seconds, 3) * 1000) * 1000, seconds
