"""Recovery-time metrics: per-incident durations, percentiles, stats over a window, SLO error budgets."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.model import Milestones, Status
from bot.reports.metrics import (
    METRICS,
    Distribution,
    IncidentMetrics,
    distribution,
    incident_metrics,
    percentile,
)
from bot.reports.stats import compute_stats
from bot.reports.stats_formats import stats_csv, stats_json, stats_table
from bot.reports.stats_rows import stats_row_of
from readmodel.milestones import impact_end_of, start_of, unix_micros
from readmodel.stats import StatsRow
from tests.reports import scripted
from tests.reports.facts import IncidentFacts
from tests.reports.scripted import utc

T0 = utc("2026-11-01 00:00")
SINCE, UNTIL = T0, T0 + timedelta(days=30)
NOW = UNTIL


def at(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def fact(
    id: int,
    *,
    severity: str = "SEV2",
    services: tuple[str, ...] = ("api",),
    private: bool = False,
    status: Status = Status.RESOLVED,
    changes: tuple[tuple[datetime, str], ...] = (),
    **milestones: datetime | None,
) -> StatsRow:
    return IncidentFacts(
        id=id,
        severity=severity,
        services=services,
        private=private,
        status=status,
        milestones=Milestones(**milestones),
        severity_changes=changes,
    ).row()


# ---- per-incident metrics -----------------------------------------------------------------------------

moments = st.one_of(
    st.none(),
    # hypothesis takes naive bounds and attaches the zone itself.
    st.datetimes(
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001
        max_value=datetime(2030, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)


def seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    return None if later is None or earlier is None else (later - earlier).total_seconds()


@given(st.builds(Milestones, *[moments] * 8))
def test_every_metric_is_the_milestone_difference_design_md_defines(m: Milestones) -> None:
    start = start_of(m.impact_started_at, m.detected_at, m.declared_at)
    impact_end = impact_end_of(m.impact_ended_at, m.mitigated_at, m.resolved_at)
    assert incident_metrics(m) == IncidentMetrics(
        time_to_detect=seconds(m.detected_at, m.impact_started_at),
        time_to_acknowledge=seconds(m.acknowledged_at, m.declared_at),
        time_to_mitigate=seconds(m.mitigated_at, start),
        time_to_resolve=seconds(m.resolved_at, start),
        impact_duration=seconds(impact_end, start),
    )


def test_metrics_of_a_full_incident() -> None:
    m = Milestones(
        impact_started_at=at(0),
        detected_at=at(8),
        declared_at=at(15),
        acknowledged_at=at(17),
        mitigated_at=at(50),
        resolved_at=at(80),
        impact_ended_at=at(45),
    )
    assert incident_metrics(m).as_dict() == {
        "time_to_detect": 480.0,
        "time_to_acknowledge": 120.0,
        "time_to_mitigate": 3000.0,
        "time_to_resolve": 4800.0,
        "impact_duration": 2700.0,
    }


def test_start_falls_back_to_detection_then_declaration() -> None:
    assert incident_metrics(Milestones(detected_at=at(5), resolved_at=at(65))).time_to_resolve == 3600.0
    only_declared = incident_metrics(Milestones(declared_at=at(10), resolved_at=at(40)))
    assert only_declared.time_to_resolve == only_declared.impact_duration == 1800.0
    assert only_declared.time_to_detect is None and only_declared.time_to_acknowledge is None


# ---- percentiles ----------------------------------------------------------------------------------------


def reference_percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks of the sorted list (numpy's default method)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(st.lists(finite, min_size=1, max_size=60), st.floats(min_value=0, max_value=100))
def test_percentile_equals_the_reference(values: list[float], q: float) -> None:
    result = percentile(values, q)
    assert math.isclose(result, reference_percentile(values, q), rel_tol=1e-9, abs_tol=1e-6)
    assert min(values) <= result <= max(values)


@given(st.lists(finite, min_size=1, max_size=60))
def test_distribution_matches_its_parts(values: list[float]) -> None:
    d = distribution(values)
    assert d.count == len(values)
    assert d.p50 == percentile(values, 50) and d.p90 == percentile(values, 90)
    assert d.max == max(values)
    assert d.mean is not None and math.isclose(d.mean, math.fsum(values) / len(values), abs_tol=1e-6)


def test_percentile_matches_numpy_on_known_values() -> None:
    # numpy.percentile(..., method="linear") gives these.
    assert percentile([1, 2, 3, 4], 90) == pytest.approx(3.7)
    assert percentile([15, 20, 35, 40, 50], 40) == pytest.approx(29.0)
    assert percentile([3, 1, 2], 50) == 2.0
    assert percentile([7], 90) == 7.0


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_empty_distribution() -> None:
    assert distribution([]) == Distribution(count=0, p50=None, p90=None, max=None, mean=None)


# ---- stats over a window -----------------------------------------------------------------------------


def sample() -> list[StatsRow]:
    return [
        fact(
            1,
            severity="SEV1",
            impact_started_at=at(0),
            detected_at=at(10),
            declared_at=at(12),
            acknowledged_at=at(14),
            mitigated_at=at(40),
            resolved_at=at(60),
            changes=((at(12), "SEV2"), (at(20), "SEV1")),
        ),
        fact(
            2,
            severity="SEV2",
            services=("api", "web"),
            declared_at=at(1000),
            acknowledged_at=at(1005),
            resolved_at=at(1030),
            changes=((at(1000), "SEV2"),),
        ),
        # Private, never acknowledged, still open.
        fact(
            3,
            severity="SEV1",
            private=True,
            status=Status.INVESTIGATING,
            services=("web",),
            declared_at=at(2000),
            changes=((at(2000), "SEV1"),),
        ),
        # Acknowledged before it was declared, resolved before its start: out of order.
        fact(
            4,
            severity="SEV10",
            services=(),
            impact_started_at=at(3000),
            detected_at=at(2990),
            declared_at=at(3010),
            acknowledged_at=at(3005),
            resolved_at=at(2995),
        ),
        # Started before the window: left out of the counts.
        fact(
            5, declared_at=T0 - timedelta(days=1), acknowledged_at=T0, resolved_at=T0 + timedelta(minutes=30)
        ),
    ]


def test_counts_and_distributions_by_severity() -> None:
    report = compute_stats(sample(), since=SINCE, until=UNTIL, by="severity", slos={}, now=NOW)
    assert report.count == 4
    assert [g.name for g in report.groups] == ["SEV1", "SEV2", "SEV10"]
    sev1 = report.groups[0]
    assert sev1.count == 2
    assert sev1.metric("time_to_resolve") == Distribution(1, 3600.0, 3600.0, 3600.0, 3600.0)
    assert sev1.metric("time_to_acknowledge").count == 1  # the private open one has no acknowledgement
    sev10 = report.groups[2].metric
    assert sev10("time_to_detect").p50 == 0.0  # detected before impact start: no lag, not negative
    assert sev10("time_to_acknowledge").count == 0  # negative: flagged, not averaged
    assert sev10("time_to_resolve").count == 0


def test_time_at_severity_runs_to_resolution_or_now() -> None:
    report = compute_stats(sample(), since=SINCE, until=UNTIL, by=None, slos={}, now=NOW)
    (everything,) = report.groups
    assert everything.name == "all" and everything.count == 4
    spent = dict(everything.time_at_severity)
    open_private = (NOW - at(2000)).total_seconds()
    assert spent["SEV2"] == 8 * 60 + 30 * 60  # INC-1 12→20, INC-2 1000→1030
    assert spent["SEV1"] == 40 * 60 + open_private  # INC-1 20→60, INC-3 until now
    assert spent["SEV10"] == 0.0  # declared after it was resolved
    assert list(dict(everything.time_at_severity)) == ["SEV1", "SEV2", "SEV10"]


def test_grouping_by_service_counts_an_incident_in_each_of_its_services() -> None:
    report = compute_stats(sample(), since=SINCE, until=UNTIL, by="service", slos={}, now=NOW)
    assert {g.name: g.count for g in report.groups} == {"(no service)": 1, "api": 2, "web": 2}


def test_flags_count_private_incidents_without_naming_them() -> None:
    report = compute_stats(sample(), since=SINCE, until=UNTIL, by=None, slos={}, now=NOW)
    flags = {f.name: f for f in report.flags}
    assert (flags["missing_acknowledgement"].count, flags["missing_acknowledgement"].incident_ids) == (1, ())
    assert flags["missing_acknowledgement"].private_count == 1
    assert (flags["still_open"].count, flags["still_open"].incident_ids) == (1, ())
    assert (flags["out_of_order"].count, flags["out_of_order"].incident_ids) == (1, (4,))
    rendered = json.dumps(stats_json(report)) + stats_table(report) + stats_csv(report)
    assert "INC-3" not in stats_table(report)
    assert ", 3" not in rendered and "[3" not in rendered and '"3"' not in rendered


def test_detection_before_impact_start_is_not_out_of_order() -> None:
    early = fact(1, impact_started_at=at(10), detected_at=at(5), declared_at=at(12), acknowledged_at=at(13))
    report = compute_stats([early], since=SINCE, until=UNTIL, by=None, slos={}, now=NOW)
    assert {f.name: f.count for f in report.flags}["out_of_order"] == 0


def test_stats_json_follows_the_interface() -> None:
    report = compute_stats(sample(), since=SINCE, until=UNTIL, by="severity", slos={"api": 0.999}, now=NOW)
    data = json.loads(json.dumps(stats_json(report)))
    assert data["window"] == {"since": "2026-11-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}
    group = data["groups"]["SEV2"]
    assert group["count"] == 1
    for metric in METRICS:
        assert set(group[metric]) == {"count", "p50", "p90", "max", "mean"}
    assert group["time_to_resolve"]["p50"] == 1800.0
    assert group["time_to_detect"] == {"count": 0, "p50": None, "p90": None, "max": None, "mean": None}
    assert group["time_at_severity"] == {"SEV2": 1800.0}
    assert set(data["services"]["api"]) >= {"availability", "error_budget_used"}
    assert data["flags"]["out_of_order"] == {"count": 1, "private": 0, "incidents": [4]}
    assert data["flags"]["still_open"] == {"count": 1, "private": 1, "incidents": []}


def test_stats_table_shows_distributions_before_means() -> None:
    report = compute_stats(sample(), since=SINCE, until=UNTIL, by="severity", slos={"api": 0.999}, now=NOW)
    table = stats_table(report)
    header = next(line for line in table.splitlines() if "p50" in line)
    assert header.split() == ["metric", "n", "p50", "p90", "max", "mean"]
    assert "  time to resolve      1  1h 00m  1h 00m  1h 00m  1h 00m" in table
    assert "milestones out of order      1  INC-4" in table
    assert "no acknowledgement recorded  1  1 private" in table
    assert "api      99.9%" in table
    widths = {len(line) for line in table.splitlines() if line.startswith("  time to")}
    assert len(widths) <= len(report.groups)  # columns line up within each group


def test_stats_csv_is_one_long_table() -> None:
    report = compute_stats(sample(), since=SINCE, until=UNTIL, by=None, slos={"web": 0.99}, now=NOW)
    rows = list(csv.DictReader(io.StringIO(stats_csv(report))))
    resolve = next(r for r in rows if r["scope"] == "group" and r["measure"] == "time_to_resolve")
    assert (resolve["name"], resolve["count"], resolve["p50"]) == ("all", "2", "2700.0")
    assert any(
        r["scope"] == "service" and r["name"] == "web" and r["measure"] == "availability" for r in rows
    )
    flag = next(r for r in rows if r["scope"] == "flag" and r["name"] == "out_of_order")
    assert (flag["count"], flag["value"]) == ("1", "4")


def test_empty_window() -> None:
    report = compute_stats([], since=SINCE, until=UNTIL, by="severity", slos={"api": 0.999}, now=NOW)
    assert report.count == 0 and report.groups == ()
    assert report.services[0].availability == 1.0 and report.services[0].error_budget_used == 0.0
    assert "No incidents in this window." in stats_table(report)
    everything = compute_stats([], since=SINCE, until=UNTIL, by=None, slos={}, now=NOW)
    assert stats_json(everything)["groups"] == {
        "all": {
            "count": 0,
            **{m: {"count": 0, "p50": None, "p90": None, "max": None, "mean": None} for m in METRICS},
            "time_at_severity": {},
        }
    }


def test_window_must_be_aware_and_forward_and_grouping_known() -> None:
    with pytest.raises(ValueError, match="severity, service, type or field:<name>"):
        compute_stats([], since=SINCE, until=UNTIL, by="team", slos={}, now=NOW)
    with pytest.raises(ValueError, match="field:<name>"):
        compute_stats([], since=SINCE, until=UNTIL, by="field:", slos={}, now=NOW)
    with pytest.raises(ValueError, match="end after"):
        compute_stats([], since=UNTIL, until=SINCE, by=None, slos={}, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_stats([], since=SINCE.replace(tzinfo=None), until=UNTIL, by=None, slos={}, now=NOW)


def test_stats_row_of_a_snapshot() -> None:
    snap = scripted.japanese()
    row = stats_row_of(snap)
    assert (row.incident_id, row.severity, json.loads(row.services or "[]"), row.status) == (
        42,
        "SEV2",
        ["決済", "checkout-api"],
        Status.RESOLVED,
    )
    changes = json.loads(row.severity_changes or json.dumps([[row.declared_us, row.severity]]))
    assert changes == [[unix_micros(at), code] for at, code in snap.severity_history]


# ---- SLOs and error budgets ------------------------------------------------------------------------------


def test_one_budget_sized_incident_uses_exactly_the_whole_budget() -> None:
    outage = fact(1, impact_started_at=at(100), declared_at=at(100), resolved_at=at(100 + 43.2))
    report = compute_stats([outage], since=SINCE, until=UNTIL, by=None, slos={"api": 0.999}, now=NOW)
    (api,) = report.services
    assert api.error_budget_seconds == 43.2 * 60
    assert api.impact_seconds == 43.2 * 60
    assert api.error_budget_used == 1.0
    assert api.availability == 0.999


def test_overlapping_incidents_of_one_service_are_not_double_counted() -> None:
    facts = [
        fact(1, declared_at=at(0), mitigated_at=at(30), resolved_at=at(90)),  # impact 0–30
        fact(2, declared_at=at(15), impact_ended_at=at(45), resolved_at=at(50)),  # impact 15–45
        fact(3, declared_at=at(20), resolved_at=at(25)),  # inside both
        fact(4, services=("web",), declared_at=at(0), resolved_at=at(600)),  # another service
    ]
    report = compute_stats(
        facts, since=SINCE, until=UNTIL, by=None, slos={"api": 0.999, "web": 0.99}, now=NOW
    )
    api, web = report.services
    assert (api.service, api.impact_seconds, api.incidents) == ("api", 45 * 60.0, 3)
    assert api.error_budget_used == pytest.approx(45 / 43.2)
    assert web.impact_seconds == 600 * 60.0
    assert web.error_budget_used == pytest.approx(600 / 432)


def test_impact_is_clipped_to_the_window_and_open_impact_runs_to_now() -> None:
    facts = [
        # Began an hour before the window, ended 30 minutes into it: only 30 minutes count.
        fact(1, declared_at=at(-60), resolved_at=at(30)),
        # Still open, 2 hours before the window ends.
        fact(2, status=Status.MONITORING, declared_at=at(30 * 24 * 60 - 120)),
    ]
    report = compute_stats(facts, since=SINCE, until=UNTIL, by=None, slos={"api": 0.9}, now=NOW)
    (api,) = report.services
    assert api.impact_seconds == (30 + 120) * 60.0
    assert report.count == 1  # the first started before the window: it counts for the budget only


def test_private_incidents_count_towards_the_budget() -> None:
    secret = fact(1, private=True, declared_at=at(0), resolved_at=at(43.2))
    (api,) = compute_stats([secret], since=SINCE, until=UNTIL, by=None, slos={"api": 0.999}, now=NOW).services
    assert api.error_budget_used == 1.0


def test_slo_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="fraction between 0 and 1"):
        compute_stats([], since=SINCE, until=UNTIL, by=None, slos={"api": 99.9}, now=NOW)


def test_hundred_thousand_incidents() -> None:
    facts = [
        fact(
            i,
            severity=f"SEV{1 + i % 4}",
            services=(f"svc{i % 7}",),
            private=i % 10 == 0,
            impact_started_at=at(i * 0.4),
            detected_at=at(i * 0.4 + i % 13),
            declared_at=at(i * 0.4 + i % 13 + 2),
            acknowledged_at=at(i * 0.4 + i % 13 + 3),
            mitigated_at=at(i * 0.4 + 30 + i % 50),
            resolved_at=at(i * 0.4 + 60 + i % 90),
            changes=((at(i * 0.4 + i % 13 + 2), f"SEV{1 + i % 4}"),),
        )
        for i in range(100_000)
    ]
    slos = {f"svc{i}": 0.999 for i in range(7)}
    report = compute_stats(facts, since=SINCE, until=UNTIL, by="service", slos=slos, now=NOW)
    assert report.count == 100_000
    assert sum(g.count for g in report.groups) == 100_000
    assert all(s.error_budget_used > 1 for s in report.services)
