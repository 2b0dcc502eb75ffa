"""`hashi stats`: recovery-time metrics of the incidents of a window, grouped (by severity, service, type or a
custom field), with SLO use and data-quality flags, computed in one pass over StatsRows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from bot.reports.formatting import natural_key
from bot.reports.metrics import METRICS, Distribution, distribution
from bot.reports.slo import ServiceAvailability, SloImpact
from bot.reports.stats_rows import PerValue
from readmodel import OPEN_STATUSES
from readmodel.milestones import Durations, DurationValues, duration_values, start_of, unix_micros
from readmodel.stats import StatsRow, collector_paused

# Data-quality flags, in the order reports show them.
MISSING_ACKNOWLEDGEMENT, OUT_OF_ORDER, STILL_OPEN = "missing_acknowledgement", "out_of_order", "still_open"
FLAGS: tuple[str, ...] = (MISSING_ACKNOWLEDGEMENT, OUT_OF_ORDER, STILL_OPEN)
ALL_GROUP = "all"
NO_SERVICE_GROUP = "(no service)"
NO_VALUE_GROUP = "(no value)"  # incidents without a value for the custom field stats group by
FIELD_GROUPING = "field:"  # `by="field:<name>"` groups by a custom field's value
_OPEN = frozenset(OPEN_STATUSES)
# json.loads without its wrapping, for the JSON text storage writes (a value, nothing around it): a fifth of
# the incidents of a year have a severity history to decode.
_json_value = json.JSONDecoder().raw_decode


@dataclass(frozen=True)
class GroupStats:
    """The metrics of one group of incidents (a severity, a service, or all)."""

    name: str
    count: int
    # One distribution per name in METRICS, in that order.
    metrics: tuple[tuple[str, Distribution], ...]
    # Seconds spent at each severity code by the group's incidents, in severity order.
    time_at_severity: tuple[tuple[str, float], ...]

    def metric(self, name: str) -> Distribution:
        """The distribution of one metric."""
        for key, value in self.metrics:
            if key == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True)
class Flag:
    """Incidents with one data-quality problem; private incidents count but are never listed."""

    name: str
    count: int
    incident_ids: tuple[int, ...]

    @property
    def private_count(self) -> int:
        """How many of the flagged incidents are private (counted, not listed)."""
        return self.count - len(self.incident_ids)


@dataclass(frozen=True)
class StatsReport:
    """Recovery-time metrics over a window."""

    since: datetime
    until: datetime
    by: str | None  # severity, service, type, field:<name>, or None
    count: int
    groups: tuple[GroupStats, ...]
    services: tuple[ServiceAvailability, ...]
    flags: tuple[Flag, ...]


def compute_stats(
    rows: Iterable[StatsRow],
    *,
    since: datetime,
    until: datetime,
    by: str | None,
    slos: Mapping[str, float],
    now: datetime,
    measures: RowMeasures | None = None,
) -> StatsReport:
    """Metrics of the incidents whose start lies in [since, until), grouped, with SLO use and data flags.

    Every incident given counts towards availability for the part of its impact inside the window, so a
    caller may also pass incidents that started before `since` and were still hurting inside it. A caller
    that computes over the same rows again (other windows, other groupings, the same `now`) passes the same
    `measures` to each: what each row gives whatever the window is then worked out once.
    """
    for name, value in (("since", since), ("until", until), ("now", now)):
        if value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
    if until <= since:
        raise ValueError("the window must end after it starts")
    if by not in (None, "severity", "service", "type") and not (
        by.startswith(FIELD_GROUPING) and len(by) > len(FIELD_GROUPING)
    ):
        raise ValueError(f"stats group by severity, service, type or field:<name>, not {by!r}")
    if measures is not None and measures.now != now:
        raise ValueError(f"these measures are of the rows at {measures.now}, not at {now}")
    with collector_paused():
        return _stats_of_rows(rows, since=since, until=until, by=by, slos=slos, now=now, measures=measures)


class RowMeasures:
    """What compute_stats works out of each row whatever the window, kept for further compute_stats over the
    same rows at the same `now`: its durations, its time at each severity, whether its milestones are out of
    order (the reliability page computes over every incident three times: the window, its months, its
    weeks)."""

    __slots__ = ("_now_us", "_of", "now")

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._now_us = unix_micros(now)
        # By incident id (consecutive integers: neighbours in the table), each with the row it was worked out
        # of: another row of the same incident is worked out again.
        self._of: dict[int, tuple[StatsRow, Durations, Iterable[tuple[str, float]], bool]] = {}

    def of(self, row: StatsRow, start: int) -> tuple[StatsRow, Durations, Iterable[tuple[str, float]], bool]:
        """The row (again), its durations, its time at each severity and whether it is out of order."""
        found = self._of.get(row.incident_id)
        if found is None or found[0] is not row:
            found = self._of[row.incident_id] = (
                row,
                row.durations(),
                tuple(_time_at_severity(row, start, self._now_us)),
                _out_of_order(row, start),
            )
        return found


def _stats_of_rows(
    rows: Iterable[StatsRow],
    *,
    since: datetime,
    until: datetime,
    by: str | None,
    slos: Mapping[str, float],
    now: datetime,
    measures: RowMeasures | None,
) -> StatsReport:
    """compute_stats over rows, in one pass: integer arithmetic (StatsRow's microseconds), floats only where
    reports show them."""
    since_us, until_us, now_us = unix_micros(since), unix_micros(until), unix_micros(now)
    groups = _Groups(by)
    impact = SloImpact(slos, since_us=since_us, until_us=until_us, now_us=now_us)
    flags = _Flags()
    # What the loop looks up for every incident, as locals.
    slo_services, everything, groups_of, group_key = (
        impact.services_of,
        groups.everything,
        groups.of,
        groups.key,
    )
    count = 0
    for row in rows:
        start = start_of(row.impact_started_us, row.detected_us, row.declared_us)
        if start is None:
            continue
        hit = slo_services[row.services]
        if hit:
            impact.add(row, start, hit)
        if not since_us <= start < until_us:
            continue
        count += 1
        if measures is None:
            lasted = duration_values(
                row.impact_started_us,
                row.detected_us,
                row.declared_us,
                row.acknowledged_us,
                row.mitigated_us,
                row.resolved_us,
                row.impact_ended_us,
            )
            spent, disordered = _time_at_severity(row, start, now_us), None
        else:
            _, lasted, spent, disordered = measures.of(row, start)
        for group in everything if group_key is None else groups_of[group_key(row)]:
            group.add(lasted, spent)
        if row.acknowledged_us is None:
            flags.add(MISSING_ACKNOWLEDGEMENT, row)
        if _out_of_order(row, start) if disordered is None else disordered:
            flags.add(OUT_OF_ORDER, row)
        if row.status in _OPEN:
            flags.add(STILL_OPEN, row)
    window_seconds = (until - since).total_seconds()
    return StatsReport(
        since=since,
        until=until,
        by=by,
        count=count,
        groups=groups.results(),
        services=impact.results(window_seconds),
        flags=flags.results(),
    )


def _time_at_severity(row: StatsRow, start: int, now_us: int) -> Iterable[tuple[str, float]]:
    """Seconds the incident spent at each severity: from each change to the next, the last until it was
    resolved (else closed, else now); the declared severity from the declaration when it never changed."""
    resolved, closed, changes = row.resolved_us, row.closed_us, row.severity_changes
    last = resolved if resolved is not None else closed if closed is not None else now_us
    if changes is None:  # declared at today's severity and never changed (most incidents)
        declared = row.declared_us
        at = declared if declared is not None else start
        return ((row.severity, (last - at if last > at else 0) / 1_000_000),)
    recorded: list[list[Any]] = _json_value(changes)[0]
    if len(recorded) <= 1:
        declared = row.declared_us
        at, code = recorded[0] if recorded else (declared if declared is not None else start, row.severity)
        return ((code, (last - at if last > at else 0) / 1_000_000),)
    ordered = sorted(recorded, key=_first) if _unsorted(recorded) else recorded
    spent: dict[str, float] = {}
    for index, (at, code) in enumerate(ordered):
        if index + 1 < len(ordered):
            following = ordered[index + 1][0]
            upto = following if following < last else last
        else:
            upto = last
        spent[code] = spent.get(code, 0.0) + (upto - at if upto > at else 0) / 1_000_000
    return spent.items()


def _first(change: Sequence[Any]) -> int:
    at: int = change[0]
    return at


def _unsorted(changes: Sequence[Sequence[Any]]) -> bool:
    """Whether the changes are out of time order (a backdated change); sorting is stable either way."""
    return any(changes[i][0] > changes[i + 1][0] for i in range(len(changes) - 1))


class _Group:
    """One group's durations (integer microseconds) and time at severity, while the incidents stream past."""

    __slots__ = ("acknowledge", "count", "detect", "impact", "mitigate", "resolve", "severity")

    def __init__(self) -> None:
        self.count = 0
        self.detect: list[int] = []
        self.acknowledge: list[int] = []
        self.mitigate: list[int] = []
        self.resolve: list[int] = []
        self.impact: list[int] = []
        self.severity: dict[str, float] = {}

    def add(self, lasted: DurationValues, spent: Iterable[tuple[str, float]]) -> None:
        """Counts an incident. A negative duration is out of order and left out, except detection before
        impact start, which is real (an alert on a precursor): no lag."""
        self.count += 1
        detect, acknowledge, mitigate, resolve, impact = lasted
        if detect is not None:
            self.detect.append(detect if detect > 0 else 0)
        if acknowledge is not None and acknowledge >= 0:
            self.acknowledge.append(acknowledge)
        if mitigate is not None and mitigate >= 0:
            self.mitigate.append(mitigate)
        if resolve is not None and resolve >= 0:
            self.resolve.append(resolve)
        if impact is not None and impact >= 0:
            self.impact.append(impact)
        seconds = self.severity
        for code, value in spent:
            seconds[code] = seconds.get(code, 0.0) + value

    def result(self, name: str) -> GroupStats:
        """The group's distributions (in seconds) and time at severity (in severity order)."""
        lists = (self.detect, self.acknowledge, self.mitigate, self.resolve, self.impact)
        return GroupStats(
            name=name,
            count=self.count,
            metrics=tuple(
                (metric, distribution([v / 1_000_000 for v in values]))
                for metric, values in zip(METRICS, lists, strict=True)
            ),
            time_at_severity=tuple(sorted(self.severity.items(), key=lambda item: natural_key(item[0]))),
        )


class _Groups:
    """The groups stats put incidents in: all of them, or by severity, service, type or a custom field (an
    incident with two services is in both), each made when its first incident comes past."""

    def __init__(self, by: str | None) -> None:
        groups: dict[str, _Group] = {}
        names = _group_names(by)
        self._groups = groups
        # The groups of the incidents whose row has a value (`of[key(row)]`), worked out once per value; no
        # key when every incident is in ALL_GROUP, which exists even with no incident. (What works them out
        # holds the groups, not self: a cycle would keep every group's lists until the cyclic collector ran.)
        self.of = PerValue(
            lambda value: tuple(
                groups.get(name) or groups.setdefault(name, _Group()) for name in names(value)
            )
        )
        self.key: Callable[[StatsRow], str | None] | None = None if by is None else attrgetter(_group_key(by))
        self.everything = self.of[None] if by is None else ()

    def results(self) -> tuple[GroupStats, ...]:
        """Each group's figures, in natural order of their names (SEV2 before SEV10)."""
        return tuple(self._groups[name].result(name) for name in sorted(self._groups, key=natural_key))


def _group_key(by: str) -> str:
    """The StatsRow field whose value decides an incident's groups when stats group `by` something."""
    return {"severity": "severity", "type": "incident_type", "service": "services"}.get(by, "custom_fields")


def _group_names(by: str | None) -> Callable[[str | None], tuple[str, ...]]:
    """The names of the groups of an incident whose _group_key value is given, when stats group `by`
    severity, type, service, a custom field, or nothing."""
    if by is None:
        return lambda _: (ALL_GROUP,)
    if by in ("severity", "type"):
        return lambda value: (str(value),)
    if by == "service":
        return lambda services: (
            tuple(dict.fromkeys(json.loads(services) if services else ())) or (NO_SERVICE_GROUP,)
        )
    name = by.removeprefix(FIELD_GROUPING)

    def field_group(fields: str | None) -> tuple[str, ...]:
        value = json.loads(fields).get(name) if fields else None
        return (NO_VALUE_GROUP,) if value is None or value == "" else (str(value),)

    return field_group


class _Flags:
    """The data-quality flags of the incidents counted; private ones are counted, never listed."""

    def __init__(self) -> None:
        self._listed: dict[str, list[int]] = {name: [] for name in FLAGS}
        self._private = dict.fromkeys(FLAGS, 0)

    def add(self, flag: str, row: StatsRow) -> None:
        """Flags an incident."""
        if row.private:
            self._private[flag] += 1
        else:
            self._listed[flag].append(row.incident_id)

    def results(self) -> tuple[Flag, ...]:
        """Each flag with its count and the ids of the public incidents it lists."""
        return tuple(
            Flag(name=name, count=len(listed) + self._private[name], incident_ids=tuple(sorted(listed)))
            for name, listed in self._listed.items()
        )


def _out_of_order(row: StatsRow, start: int) -> bool:
    """Whether milestones lie the wrong way round (the pairs bot.incidents.model.Milestones.out_of_order
    checks; detection before impact start is no problem: an alert on a precursor)."""
    declared, acknowledged, mitigated = row.declared_us, row.acknowledged_us, row.mitigated_us
    resolved, closed, impact_ended = row.resolved_us, row.closed_us, row.impact_ended_us
    return (
        (declared is not None and acknowledged is not None and acknowledged < declared)
        or (mitigated is not None and mitigated < start)
        or (resolved is not None and resolved < start)
        or (impact_ended is not None and impact_ended < start)
        or (mitigated is not None and resolved is not None and resolved < mitigated)
        or (resolved is not None and closed is not None and closed < resolved)
        or (declared is not None and closed is not None and closed < declared)
    )
