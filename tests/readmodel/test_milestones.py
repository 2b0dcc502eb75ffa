"""DESIGN.md's rules over milestones, written once (readmodel.milestones), and everyone reading them there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.model import Milestone, Milestones
from bot.reports.metrics import METRICS, incident_metrics
from bot.reports.stats_rows import stats_row
from readmodel.milestones import (
    IMPACT_END_MILESTONES,
    START_MILESTONES,
    Durations,
    durations,
    impact_end_of,
    start_of,
    unix_micros,
)

T0 = datetime(2026, 11, 24, 5, 5, tzinfo=UTC)
moments = st.one_of(
    st.none(),
    st.integers(min_value=-86_400_000_000, max_value=86_400_000_000).map(
        lambda us: T0 + timedelta(microseconds=us)
    ),
)
any_milestones = st.builds(Milestones, *[moments] * 8)


def test_the_start_is_impact_start_else_detection_else_declaration() -> None:
    assert start_of(1, 2, 3) == 1
    assert start_of(None, 2, 3) == 2
    assert start_of(None, None, 3) == 3
    assert start_of(None, None, None) is None
    assert start_of(0, 2, 3) == 0  # the epoch is a moment, not a missing one
    assert START_MILESTONES == (Milestone.IMPACT_STARTED, Milestone.DETECTED, Milestone.DECLARED)


def test_impact_ends_at_its_end_else_mitigation_else_resolution() -> None:
    assert impact_end_of(1, 2, 3) == 1
    assert impact_end_of(None, 2, 3) == 2
    assert impact_end_of(None, None, 3) == 3
    assert impact_end_of(None, None, None) is None
    assert impact_end_of(0, 2, 3) == 0
    assert IMPACT_END_MILESTONES == (Milestone.IMPACT_ENDED, Milestone.MITIGATED, Milestone.RESOLVED)


def test_durations_are_the_differences_design_md_names() -> None:
    minute = 60_000_000
    full = durations(
        impact_started=0,
        detected=8 * minute,
        declared=15 * minute,
        acknowledged=17 * minute,
        mitigated=50 * minute,
        resolved=80 * minute,
        impact_ended=45 * minute,
    )
    assert full == Durations(8 * minute, 2 * minute, 50 * minute, 80 * minute, 45 * minute)
    assert Durations._fields == METRICS
    only_declared = durations(
        impact_started=None,
        detected=None,
        declared=10 * minute,
        acknowledged=None,
        mitigated=None,
        resolved=40 * minute,
        impact_ended=None,
    )
    assert only_declared == Durations(None, None, None, 30 * minute, 30 * minute)
    backwards = durations(
        impact_started=10 * minute,
        detected=5 * minute,
        declared=12 * minute,
        acknowledged=11 * minute,
        mitigated=None,
        resolved=None,
        impact_ended=None,
    )
    assert backwards == Durations(-5 * minute, -minute, None, None, None)  # negative: out of order
    nothing = dict.fromkeys(
        ("impact_started", "detected", "declared", "mitigated", "resolved", "impact_ended")
    )
    assert durations(**nothing, acknowledged=minute) == Durations(None, None, None, None, None)


@given(any_milestones)
def test_the_domain_the_stats_row_and_the_reports_read_one_rule(m: Milestones) -> None:
    row = stats_row(id=1, severity="SEV2", services=(), private=False, status="resolved", milestones=m)
    as_micros = {name: None if at is None else unix_micros(at) for name, at in m.as_dict().items()}
    start = start_of(*(as_micros[name] for name in START_MILESTONES))
    end = impact_end_of(*(as_micros[name] for name in IMPACT_END_MILESTONES))
    assert row.start_us == start == (None if m.start is None else unix_micros(m.start))
    assert row.impact_end_us == end == (None if m.impact_end is None else unix_micros(m.impact_end))
    lasted = row.durations()
    assert incident_metrics(m).as_dict() == {
        name: None if value is None else value / 1_000_000 for name, value in lasted._asdict().items()
    }
    # Milestones.out_of_order measures mitigation, resolution and impact end from the same start.
    measured = (Milestone.MITIGATED, Milestone.RESOLVED, Milestone.IMPACT_ENDED)
    start_milestone = next((Milestone(n) for n in START_MILESTONES if as_micros[n] is not None), None)
    found = {
        (later, earlier)
        for later, earlier in m.out_of_order()
        if later in measured and earlier in START_MILESTONES
    }
    before_start = {
        (later, start_milestone)
        for later in measured
        if start is not None and (at := as_micros[later.value]) is not None and at < start
    }
    assert found == before_start
