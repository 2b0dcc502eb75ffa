"""compute_stats works on integer rows; it must give exactly what the straightforward computation gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.incidents.model import Milestones, Status
from bot.reports.stats import RowMeasures, compute_stats
from tests.reports.facts import IncidentFacts, fact_of, rows_of
from tests.reports.reference_stats import reference_stats

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=30)

# Times around the window (some before it, some after), to the microsecond, in UTC and two other zones.
moments = st.builds(
    lambda offset, zone: (SINCE + timedelta(microseconds=offset)).astimezone(zone),
    st.integers(min_value=-10 * 86_400_000_000, max_value=35 * 86_400_000_000),
    st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-3, minutes=-30))]),
)
maybe_moments = st.one_of(st.none(), moments)
codes = st.sampled_from(["SEV1", "SEV2", "SEV10", "sev3"])
any_facts = st.builds(
    IncidentFacts,
    id=st.integers(min_value=1, max_value=40),
    severity=codes,
    services=st.lists(st.sampled_from(["api", "web", "db", "Api"]), max_size=3).map(tuple),
    private=st.booleans(),
    status=st.sampled_from(list(Status)),
    milestones=st.builds(Milestones, *[maybe_moments] * 8),
    severity_changes=st.lists(st.tuples(moments, codes), max_size=4).map(tuple),
)


def declared_only(fact: IncidentFacts) -> IncidentFacts:
    """The commonest history: the declaration alone, at declared_at, with today's severity (stored NULL)."""
    declared = fact.milestones.declared_at
    return fact if declared is None else replace(fact, severity_changes=((declared, fact.severity),))


facts = st.one_of(any_facts, any_facts.map(declared_only))
slos = st.dictionaries(st.sampled_from(["api", "web", "db", "cache"]), st.sampled_from([0.9, 0.99, 0.999]))
groupings = st.sampled_from([None, "severity", "service"])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(facts, max_size=25),
    groupings,
    slos,
    st.integers(min_value=0, max_value=3 * 86_400_000_000),
)
def test_compute_stats_equals_the_straightforward_computation(
    given_facts: list[IncidentFacts],
    by: Literal["severity", "service"] | None,
    slo: dict[str, float],
    later: int,
) -> None:
    now = UNTIL + timedelta(microseconds=later)
    expected = reference_stats(given_facts, since=SINCE, until=UNTIL, by=by, slos=slo, now=now)
    rows = rows_of(given_facts)
    assert compute_stats(rows, since=SINCE, until=UNTIL, by=by, slos=slo, now=now) == expected
    assert compute_stats(iter(rows), since=SINCE, until=UNTIL, by=by, slos=slo, now=now) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(facts, max_size=25), groupings, slos, st.integers(min_value=1, max_value=29))
def test_measures_kept_across_compute_stats_change_nothing(
    given_facts: list[IncidentFacts],
    by: Literal["severity", "service"] | None,
    slo: dict[str, float],
    day: int,
) -> None:
    """What RowMeasures keeps of each row for the next compute_stats at the same `now` (the reliability
    page's months and weeks) gives what working it out again gives."""
    rows, now = rows_of(given_facts), UNTIL
    measures = RowMeasures(now)
    split = SINCE + timedelta(days=day)
    for since, until, grouping in ((SINCE, UNTIL, None), (SINCE, split, by), (split, UNTIL, by)):
        expected = compute_stats(rows, since=since, until=until, by=grouping, slos=slo, now=now)
        kept = compute_stats(
            rows, since=since, until=until, by=grouping, slos=slo, now=now, measures=measures
        )
        assert kept == expected
    with pytest.raises(ValueError, match="measures"):
        compute_stats(rows, since=SINCE, until=UNTIL, by=by, slos=slo, now=split, measures=measures)


@settings(max_examples=100, deadline=None)
@given(st.lists(facts, max_size=10))
def test_a_stats_row_reads_back_as_the_facts_it_was_made_of(given_facts: list[IncidentFacts]) -> None:
    rows = rows_of(given_facts)
    for fact, row in zip(given_facts, rows, strict=True):
        only = fact.milestones.declared_at, fact.severity
        assert (row.severity_changes is None) == (only[0] is not None and fact.severity_changes == (only,))
    read = [fact_of(row) for row in rows]
    assert len(read) == len(given_facts)
    assert read == given_facts
    assert read[1:] == given_facts[1:]
    if given_facts:
        assert read[-1] == given_facts[-1]
        assert all(t.tzinfo is UTC for t in read[0].milestones.as_dict().values() if t is not None)
