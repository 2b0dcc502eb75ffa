"""Trends: each period's figures are exactly the stats of that period, over any calendar cut."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.incidents.model import Milestones, Status
from bot.incidents.windows import Period
from bot.reports.stats import compute_stats
from bot.reports.trends import compute_trend, trend_csv, trend_json, trend_table
from readmodel.stats import StatsRow
from tests.reports.facts import IncidentFacts, rows_of

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
SLOS = {"checkout": 0.999, "search": 0.995}


def history(count: int, seed: int) -> list[StatsRow]:
    """Incidents over a year, skewed like real ones: some long, some open, some out of order."""
    draw = random.Random(seed)
    facts: list[IncidentFacts] = []
    for number in range(1, count + 1):
        start = NOW - timedelta(days=draw.uniform(0, 365))
        declared = start + timedelta(minutes=draw.expovariate(1 / 10))
        minutes = draw.lognormvariate(4, 1.5)  # a median near an hour, a long tail of days
        resolved = start + timedelta(minutes=minutes) if draw.random() > 0.05 else None
        mitigated = start + timedelta(minutes=minutes * draw.uniform(0.2, 1.0)) if resolved else None
        if draw.random() < 0.03 and mitigated is not None:
            mitigated = start - timedelta(minutes=5)  # recorded out of order
        facts.append(
            IncidentFacts(
                id=number,
                severity=draw.choice(("SEV1", "SEV2", "SEV3")),
                services=tuple(draw.sample(("checkout", "search", "mail"), draw.randint(0, 2))),
                private=draw.random() < 0.1,
                status=Status.RESOLVED if resolved else Status.INVESTIGATING,
                milestones=Milestones(
                    impact_started_at=start,
                    declared_at=declared,
                    acknowledged_at=declared + timedelta(minutes=draw.expovariate(1 / 4)),
                    mitigated_at=mitigated,
                    resolved_at=resolved,
                ),
            )
        )
    return rows_of(facts)


@pytest.mark.parametrize("every", ["week", "month", "quarter"])
def test_each_period_equals_the_stats_of_that_period(every: Period) -> None:
    facts = history(400, seed=len(every))
    tz = ZoneInfo("Asia/Tokyo")
    since, until = NOW - timedelta(days=300), NOW
    trend = compute_trend(facts, since=since, until=until, every=every, tz=tz, slos=SLOS, now=NOW)
    assert trend.rows[0].since == since and trend.rows[-1].until == until
    assert all(a.until == b.since for a, b in zip(trend.rows, trend.rows[1:], strict=False))
    for row in trend.rows:
        alone = compute_stats(facts, since=row.since, until=row.until, by=None, slos=SLOS, now=NOW)
        (group,) = alone.groups
        assert row.count == alone.count
        assert row.metrics == tuple((m, group.metric(m)) for m, _ in row.metrics)
        assert row.services == alone.services
    assert (
        sum(row.count for row in trend.rows)
        == compute_stats(facts, since=since, until=until, by=None, slos=SLOS, now=NOW).count
    )
    # The three formats say the same periods.
    data = trend_json(trend)
    assert [p["period"] for p in data["periods"]] == [r.name for r in trend.rows]  # type: ignore[index]
    assert len(trend_csv(trend).splitlines()) == len(trend.rows) + 1
    assert len(trend_table(trend, tz).splitlines()) == len(trend.rows) + 3
