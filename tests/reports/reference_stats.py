"""The straightforward stats computation, as it was before compute_stats worked on integer rows: the
oracle the fast path is compared with (tests/reports/test_stats_fast_path.py). Kept as it was, but for
taking the start and the end of impact from Milestones (readmodel.milestones, where they are written once);
not used by the bot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from fractions import Fraction
from typing import Literal

from bot.incidents.model import Milestones
from bot.reports.formatting import natural_key
from bot.reports.metrics import METRICS, IncidentMetrics, distribution, incident_metrics
from bot.reports.slo import ServiceAvailability
from bot.reports.stats import ALL_GROUP, FLAGS, NO_SERVICE_GROUP, Flag, GroupStats, StatsReport
from tests.reports.facts import IncidentFacts


def _out_of_order(m: Milestones) -> bool:
    """True when milestones contradict each other (detection before impact start is fine)."""
    start = m.start
    pairs = (
        (m.declared_at, m.acknowledged_at),
        (start, m.mitigated_at),
        (start, m.resolved_at),
        (start, m.impact_ended_at),
        (m.mitigated_at, m.resolved_at),
        (m.resolved_at, m.closed_at),
        (m.declared_at, m.closed_at),
    )
    return any(a is not None and b is not None and b < a for a, b in pairs)


def _severity_seconds(fact: IncidentFacts, now: datetime) -> dict[str, float]:
    """Seconds spent at each severity, from each change to the next and the last to resolution (or now)."""
    m = fact.milestones
    changes = sorted(fact.severity_changes, key=lambda change: change[0])
    if not changes:
        first = m.declared_at or m.start
        if first is None:
            return {}
        changes = [(first, fact.severity)]
    end = m.resolved_at or m.closed_at or now
    spent: dict[str, float] = {}
    for index, (at, code) in enumerate(changes):
        until = min(changes[index + 1][0], end) if index + 1 < len(changes) else end
        spent[code] = spent.get(code, 0.0) + max(0.0, (until - at).total_seconds())
    return spent


def _groups_of(fact: IncidentFacts, by: Literal["severity", "service"] | None) -> tuple[str, ...]:
    """The groups an incident counts in (an incident with two services counts in both)."""
    if by == "severity":
        return (fact.severity,)
    if by == "service":
        return tuple(dict.fromkeys(fact.services)) or (NO_SERVICE_GROUP,)
    return (ALL_GROUP,)


class _GroupAccumulator:
    """Collects one group's durations while the incidents stream past."""

    def __init__(self) -> None:
        self.count = 0
        self.values: dict[str, list[float]] = {name: [] for name in METRICS}
        self.severity: dict[str, float] = {}

    def add(self, metrics: IncidentMetrics, severity_seconds: Mapping[str, float]) -> None:
        self.count += 1
        for name, value in metrics.as_dict().items():
            if value is None:
                continue
            if value < 0:
                # Detection before impact start is real (an alert on a precursor): no lag. Any other negative
                # duration is a data error, flagged as out of order and kept out of the distribution.
                if name != "time_to_detect":
                    continue
                value = 0.0
            self.values[name].append(value)
        for code, seconds in severity_seconds.items():
            self.severity[code] = self.severity.get(code, 0.0) + seconds

    def result(self, name: str) -> GroupStats:
        return GroupStats(
            name=name,
            count=self.count,
            metrics=tuple((metric, distribution(self.values[metric])) for metric in METRICS),
            time_at_severity=tuple(sorted(self.severity.items(), key=lambda item: natural_key(item[0]))),
        )


def _merged_seconds(intervals: list[tuple[datetime, datetime]]) -> float:
    """Total seconds covered by intervals, overlaps counted once."""
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (start, end)
        elif end > current[1]:
            current = (current[0], end)
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def _impact_interval(
    fact: IncidentFacts, *, since: datetime, until: datetime, now: datetime
) -> tuple[datetime, datetime] | None:
    """The incident's impact clipped to the window (an open incident's impact runs until now)."""
    m = fact.milestones
    start = m.start
    if start is None:
        return None
    end = m.impact_end
    if end is None:
        end = now if fact.status.is_open else (m.closed_at or now)
    start, end = max(start, since), min(end, until)
    return (start, end) if end > start else None


def _availability(
    service: str,
    slo: float,
    intervals: list[tuple[datetime, datetime]],
    incidents: int,
    window_seconds: float,
) -> ServiceAvailability:
    """Availability and error budget use, computed in exact fractions so 43.2 min of 99.9 % is exactly 1."""
    if not 0 < slo < 1:
        raise ValueError(f"the SLO of {service!r} must be a fraction between 0 and 1 (0.999), not {slo}")
    impact = Fraction(_merged_seconds(intervals))
    window = Fraction(window_seconds)
    budget = (1 - Fraction(repr(slo))) * window
    return ServiceAvailability(
        service=service,
        slo=slo,
        incidents=incidents,
        impact_seconds=float(impact),
        window_seconds=window_seconds,
        error_budget_seconds=float(budget),
        availability=float(1 - impact / window),
        error_budget_used=float(impact / budget),
    )


def reference_stats(
    facts: Iterable[IncidentFacts],
    *,
    since: datetime,
    until: datetime,
    by: Literal["severity", "service"] | None,
    slos: Mapping[str, float],
    now: datetime,
) -> StatsReport:
    """Metrics of the incidents whose start lies in [since, until), grouped, with SLO use and data flags.

    Every incident given counts towards availability for the part of its impact inside the window, so a
    caller may also pass incidents that started before `since` and were still hurting inside it.
    """
    for name, value in (("since", since), ("until", until), ("now", now)):
        if value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
    if until <= since:
        raise ValueError("the window must end after it starts")
    if by not in (None, "severity", "service"):
        raise ValueError(f"stats group by severity or service, not {by!r}")
    groups: dict[str, _GroupAccumulator] = {}
    if by is None:
        groups[ALL_GROUP] = _GroupAccumulator()
    flagged: dict[str, list[int]] = {name: [] for name in FLAGS}
    flagged_private = dict.fromkeys(FLAGS, 0)
    impact: dict[str, list[tuple[datetime, datetime]]] = {service: [] for service in slos}
    hit: dict[str, int] = dict.fromkeys(slos, 0)
    total = 0
    for fact in facts:
        slo_services = [s for s in dict.fromkeys(fact.services) if s in impact]
        if slo_services:
            interval = _impact_interval(fact, since=since, until=until, now=now)
            if interval is not None:
                for service in slo_services:
                    impact[service].append(interval)
                    hit[service] += 1
        start = fact.milestones.start
        if start is None or not since <= start < until:
            continue
        total += 1
        metrics = incident_metrics(fact.milestones)
        seconds = _severity_seconds(fact, now)
        for group in _groups_of(fact, by):
            groups.setdefault(group, _GroupAccumulator()).add(metrics, seconds)
        m = fact.milestones
        problems = (
            ("missing_acknowledgement", m.acknowledged_at is None),
            ("out_of_order", _out_of_order(m)),
            ("still_open", fact.status.is_open),
        )
        for flag, present in problems:
            if not present:
                continue
            if fact.private:
                flagged_private[flag] += 1
            else:
                flagged[flag].append(fact.id)
    window_seconds = (until - since).total_seconds()
    order = sorted(groups, key=natural_key)
    return StatsReport(
        since=since,
        until=until,
        by=by,
        count=total,
        groups=tuple(groups[name].result(name) for name in order),
        services=tuple(
            _availability(service, slos[service], impact[service], hit[service], window_seconds)
            for service in sorted(slos, key=natural_key)
        ),
        flags=tuple(
            Flag(
                name=flag,
                count=len(flagged[flag]) + flagged_private[flag],
                incident_ids=tuple(sorted(flagged[flag])),
            )
            for flag in FLAGS
        ),
    )
