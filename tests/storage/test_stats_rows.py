"""The stats queries: milestones as integer microseconds, rounded to the millisecond as stats always were."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update

from bot.incidents.model import Status
from bot.incidents.queries import stats_rows
from bot.incidents.service import IncidentService
from bot.reports.stats import compute_stats
from storage.models import Incident
from storage.repository import Store
from storage.stats import MICROS_COLUMNS, MILESTONE_COLUMNS
from tests.fakes import FixedClock
from tests.reports.facts import fact_of
from tests.reports.reference_stats import reference_stats

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BASE = datetime(2026, 11, 20, 5, 5, tzinfo=UTC)
# Exactly half a millisecond (…500 µs), halves a double holds exactly (.4375 s, .6875 s), and neighbours.
FRACTIONS = [0, 1, 499, 500, 501, 1_500, 2_500, 437_500, 687_500, 999_500, 999_999, 123_456, 500_000]


def old_micros(seconds: float) -> int:
    """What stats did before: the database's Unix seconds as a double, rounded by round(x, 3)."""
    return (datetime.fromtimestamp(round(seconds, 3), tz=UTC) - EPOCH) // timedelta(microseconds=1)


async def test_milestones_round_to_the_millisecond_as_before(
    store: Store, service: IncidentService, clock: FixedClock
) -> None:
    rng = random.Random(5)
    fractions = (
        FRACTIONS
        + [rng.randrange(1_000_000) for _ in range(40)]
        + [1000 * rng.randrange(1000) + 500 for _ in range(40)]
    )
    ids = []
    for n, fraction in enumerate(fractions):
        setup = await service.declare(title=f"Tie {n}", actor="U1", severity="SEV2", services=["api"])
        ids.append(setup.incident.id)
        at = BASE + timedelta(seconds=n * 37, microseconds=fraction)
        values = {
            name: at + timedelta(minutes=i, microseconds=i * 250) for i, name in enumerate(MILESTONE_COLUMNS)
        }
        async with store.transaction() as repo:
            await repo.session.execute(
                update(Incident).where(Incident.id == setup.incident.id).values(**values)
            )
            await repo.refresh_stats([setup.incident.id])  # a Core update goes around the ORM's bookkeeping
    since, until = BASE - timedelta(days=1), clock.now() + timedelta(days=30)
    async with store.transaction() as repo:
        rows = {row.incident_id: row for row in await repo.stats_rows(since=since, until=until)}
        postgres = repo.session.get_bind().dialect.name == "postgresql"
        for name in MILESTONE_COLUMNS:
            seconds = (
                f"CAST(EXTRACT(EPOCH FROM {name}) AS FLOAT8)"
                if postgres
                else f"(julianday({name}) - 2440587.5) * 86400.0"
            )
            result = await repo.session.execute(text(f"SELECT id, {seconds} FROM incident"))
            old = {row[0]: row[1] for row in result.all()}
            field = MICROS_COLUMNS[MILESTONE_COLUMNS.index(name)]
            assert {i: getattr(rows[i], field) for i in ids} == {i: old_micros(old[i]) for i in ids}, name


async def test_stats_from_the_database_equal_the_straightforward_computation(
    service: IncidentService, store: Store, clock: FixedClock
) -> None:
    for n in range(12):
        setup = await service.declare(
            title=f"Outage {n}",
            actor="U1",
            severity=("SEV1", "SEV2", "SEV3")[n % 3],
            services=[("api", "web"), ("api",), ()][n % 3],
            private=n % 4 == 0,
            detected_at=clock.now() - timedelta(minutes=n, microseconds=500 * n),
        )
        incident_id = setup.incident.id
        if n % 2:
            await service.set_severity(incident_id=incident_id, severity="SEV4", actor="U1")
        if n % 3 == 1:
            await service.acknowledge(incident_id=incident_id, actor="U1")
        if n % 5 != 0:
            clock.advance(minutes=7, microseconds=1500)
            await service.set_status(incident_id=incident_id, status=Status.RESOLVED, actor="U1")
    now = clock.now() + timedelta(hours=1)
    since, until = now - timedelta(days=1), now
    rows = await stats_rows(store, since=since, until=until)
    facts = [fact_of(row) for row in rows]
    slos = {"api": 0.999, "web": 0.99}
    for by in (None, "severity", "service"):
        fast = compute_stats(rows, since=since, until=until, by=by, slos=slos, now=now)
        assert fast == reference_stats(facts, since=since, until=until, by=by, slos=slos, now=now)
        assert fast.count == 12
