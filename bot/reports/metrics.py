"""Recovery-time metrics: per-incident durations, their distributions, time at severity, SLO error budgets."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from fractions import Fraction
from operator import attrgetter
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from bot.i18n import DEFAULT_LANG, Lang, t
from bot.incidents.model import DEFAULT_TYPE, FieldValue, IncidentSnapshot, Milestones
from bot.incidents.times import format_duration, format_local
from readmodel import OPEN_STATUSES
from readmodel.milestones import Durations, durations, start_of, unix_micros
from readmodel.stats import StatsRow, collector_paused

# The five per-incident durations of DESIGN.md, in the order every report shows them.
METRICS: tuple[str, ...] = Durations._fields
# Data-quality flags, in the order reports show them.
MISSING_ACKNOWLEDGEMENT, OUT_OF_ORDER, STILL_OPEN = "missing_acknowledgement", "out_of_order", "still_open"
FLAGS: tuple[str, ...] = (MISSING_ACKNOWLEDGEMENT, OUT_OF_ORDER, STILL_OPEN)
ALL_GROUP = "all"
NO_SERVICE_GROUP = "(no service)"
NO_VALUE_GROUP = "(no value)"  # incidents without a value for the custom field stats group by
FIELD_GROUPING = "field:"  # `by="field:<name>"` groups by a custom field's value
_UTC_ZONE = ZoneInfo("UTC")
_OPEN = frozenset(OPEN_STATUSES)
# json.loads without its wrapping, for the JSON text storage writes (a value, nothing around it): a fifth of
# the incidents of a year have a severity history to decode.
_json_value = json.JSONDecoder().raw_decode
T = TypeVar("T")
# The table lists at most this many incident ids per flag; JSON and CSV list them all.
_TABLE_IDS = 10


def iso_utc(dt: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 UTC with a `Z` (`2026-11-24T05:05:00Z`), or None."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError(f"a naive datetime ({dt.isoformat()}) cannot be shown as UTC")
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _maybe_micros(dt: datetime | None) -> int | None:
    return None if dt is None else unix_micros(dt)


@dataclass(frozen=True)
class IncidentMetrics:
    """The recovery-time durations of one incident in seconds (None when a milestone is missing)."""

    time_to_detect: float | None
    time_to_acknowledge: float | None
    time_to_mitigate: float | None
    time_to_resolve: float | None
    impact_duration: float | None

    def as_dict(self) -> dict[str, float | None]:
        """Every duration by its INTERFACE.md name, in report order."""
        return {name: getattr(self, name) for name in METRICS}


def incident_metrics(m: Milestones) -> IncidentMetrics:
    """The durations DESIGN.md defines (readmodel.milestones.durations), in seconds: plain milestone
    differences, negative when out of order (what the incident page and the postmortem show)."""
    lasted = durations(
        impact_started=_maybe_micros(m.impact_started_at),
        detected=_maybe_micros(m.detected_at),
        declared=_maybe_micros(m.declared_at),
        acknowledged=_maybe_micros(m.acknowledged_at),
        mitigated=_maybe_micros(m.mitigated_at),
        resolved=_maybe_micros(m.resolved_at),
        impact_ended=_maybe_micros(m.impact_ended_at),
    )
    return IncidentMetrics(*(None if value is None else value / 1_000_000 for value in lasted))


def _percentile_sorted(ordered: Sequence[float], q: float) -> float:
    """percentile() on values already in ascending order."""
    rank = (len(ordered) - 1) * (q / 100)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    if fraction == 0:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * fraction)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 … 100) by linear interpolation between ranks, as numpy's default."""
    if not values:
        raise ValueError("the percentile of no values is undefined")
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {q}")
    return _percentile_sorted(sorted(values), q)


@dataclass(frozen=True)
class Distribution:
    """How a duration is spread over incidents: count, median, p90, max and mean, in seconds."""

    count: int
    p50: float | None
    p90: float | None
    max: float | None
    mean: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        """The INTERFACE.md fields (`count`, `p50`, `p90`, `max`, `mean`)."""
        return {"count": self.count, "p50": self.p50, "p90": self.p90, "max": self.max, "mean": self.mean}


def distribution(values: Iterable[float]) -> Distribution:
    """The distribution of some durations (all fields but count are None when there are none)."""
    ordered = sorted(values)
    if not ordered:
        return Distribution(count=0, p50=None, p90=None, max=None, mean=None)
    return Distribution(
        count=len(ordered),
        p50=_percentile_sorted(ordered, 50),
        p90=_percentile_sorted(ordered, 90),
        max=float(ordered[-1]),
        mean=math.fsum(ordered) / len(ordered),
    )


def stats_row(
    *,
    id: int,
    severity: str,
    services: Sequence[str],
    private: bool,
    status: str,
    milestones: Milestones,
    severity_changes: Sequence[tuple[datetime, str]] = (),
    incident_type: str = DEFAULT_TYPE,
    fields: Mapping[str, FieldValue] | None = None,
) -> StatsRow:
    """One incident's stats row from the domain's values, as storage holds it (storage.stats; the milestones
    exact here, where storage rounds them to the millisecond). `severity_changes`: (when, code) oldest first,
    the first the declared severity."""
    m = milestones
    changes = [[unix_micros(at), code] for at, code in severity_changes]
    declared = _maybe_micros(m.declared_at)
    return StatsRow(
        incident_id=id,
        severity=severity,
        services=json.dumps(list(services), ensure_ascii=False),
        private=private,
        status=str(status),
        impact_started_us=_maybe_micros(m.impact_started_at),
        detected_us=_maybe_micros(m.detected_at),
        declared_us=declared,
        acknowledged_us=_maybe_micros(m.acknowledged_at),
        mitigated_us=_maybe_micros(m.mitigated_at),
        resolved_us=_maybe_micros(m.resolved_at),
        closed_us=_maybe_micros(m.closed_at),
        impact_ended_us=_maybe_micros(m.impact_ended_at),
        severity_changes=None
        if changes == [[declared, severity]]
        else json.dumps(changes, ensure_ascii=False),
        incident_type=incident_type,
        custom_fields=json.dumps(dict(fields), ensure_ascii=False) if fields else None,
    )


def stats_row_of(snap: IncidentSnapshot) -> StatsRow:
    """The stats row of a full snapshot (for callers that already hold one)."""
    return stats_row(
        id=snap.id,
        severity=snap.severity,
        services=snap.services,
        private=snap.private,
        status=snap.status,
        milestones=snap.milestones,
        severity_changes=snap.severity_history,
        incident_type=snap.incident_type,
        fields=snap.fields,
    )


class _PerValue(dict[str | None, T]):
    """Something worked out from a value many rows share (their services' JSON list, their severity …), once
    per distinct value (a year of incidents holds a few hundred): `cache[value]`."""

    def __init__(self, work_out: Callable[[str | None], T]) -> None:
        super().__init__()
        self._work_out = work_out

    def __missing__(self, value: str | None) -> T:
        found = self[value] = self._work_out(value)
        return found


class _ServiceNames:
    """The service names of the rows' JSON lists, each distinct list decoded once."""

    __slots__ = ("_decoded",)

    def __init__(self) -> None:
        self._decoded: dict[str | None, list[str]] = {}

    def __call__(self, services: str | None) -> list[str]:
        found = self._decoded.get(services)
        if found is None:
            found = self._decoded[services] = json.loads(services) if services else []
        return found


def unnamed_private_rows(
    rows: Sequence[StatsRow], *, seen: Collection[int], configured: Collection[str]
) -> list[StatsRow]:
    """Stats rows as someone sees them who is in only the `seen` private incidents: every other private
    incident still counts, but keeps only the services that are configured or that an incident they may see
    carries, so its other services are never named (nor confirmed by asking for them). Only the services of
    those rows are rewritten; the rest go through untouched."""
    names = _ServiceNames()
    known = {name.lower() for name in configured}
    for row in rows:
        if not row.private or row.incident_id in seen:
            known |= {str(name).lower() for name in names(row.services)}
    out: list[StatsRow] = []
    for row in rows:
        if row.private and row.incident_id not in seen:
            kept = [str(name) for name in names(row.services) if str(name).lower() in known]
            row = replace(row, services=json.dumps(kept, ensure_ascii=False))
        out.append(row)
    return out


def rows_of_service(rows: Iterable[StatsRow], service: str) -> list[StatsRow]:
    """The incidents that carry a service, whatever its case (`/incident stats service:<name>`)."""
    wanted = service.lower()
    carries: dict[str | None, bool] = {}  # whether each distinct service list names it

    def named(services: str | None) -> bool:
        found = carries.get(services)
        if found is None:
            found = carries[services] = wanted in (name.lower() for name in json.loads(services or "[]"))
        return found

    return [row for row in rows if named(row.services)]


class StatsSource(Protocol):
    """Where stats read their rows, and which private incidents a person is in (the incident service)."""

    async def stats_rows(self, *, since: datetime, until: datetime) -> list[StatsRow]: ...

    async def private_incidents_of(self, *, user_id: str) -> set[int]: ...


async def rows_seen_by(
    source: StatsSource, *, user_id: str, since: datetime, until: datetime, configured: Collection[str]
) -> list[StatsRow]:
    """The stats rows of a window as a person may see them: private incidents count, and the services only
    the private incidents they are not in carry stay unnamed (unnamed_private_rows)."""
    rows = await source.stats_rows(since=since, until=until)
    if any(row.private for row in rows):
        seen = await source.private_incidents_of(user_id=user_id)
        rows = unnamed_private_rows(rows, seen=seen, configured=configured)
    return rows


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
class ServiceAvailability:
    """A service's availability and error budget over the window."""

    service: str
    slo: float
    incidents: int
    impact_seconds: float
    window_seconds: float
    error_budget_seconds: float
    availability: float
    error_budget_used: float


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


def _natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """Sorts SEV2 before SEV10, case-insensitively."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part.lower()) for part in re.split(r"(\d+)", text)
    )


def compute_stats(
    rows: Iterable[StatsRow],
    *,
    since: datetime,
    until: datetime,
    by: str | None,
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
    if by not in (None, "severity", "service", "type") and not (
        by.startswith(FIELD_GROUPING) and len(by) > len(FIELD_GROUPING)
    ):
        raise ValueError(f"stats group by severity, service, type or field:<name>, not {by!r}")
    with collector_paused():
        return _stats_of_rows(rows, since=since, until=until, by=by, slos=slos, now=now)


def _stats_of_rows(
    rows: Iterable[StatsRow],
    *,
    since: datetime,
    until: datetime,
    by: str | None,
    slos: Mapping[str, float],
    now: datetime,
) -> StatsReport:
    """compute_stats over rows, in one pass: integer arithmetic (StatsRow's microseconds), floats only where
    reports show them."""
    since_us, until_us, now_us = unix_micros(since), unix_micros(until), unix_micros(now)
    groups = _Groups(by)
    impact = _SloImpact(slos, since_us=since_us, until_us=until_us, now_us=now_us)
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
        lasted = row.durations()
        spent = _time_at_severity(row, start, now_us)
        for group in everything if group_key is None else groups_of[group_key(row)]:
            group.add(lasted, spent)
        if row.acknowledged_us is None:
            flags.add(MISSING_ACKNOWLEDGEMENT, row)
        if _out_of_order(row, start):
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
    resolved, closed = row.resolved_us, row.closed_us
    last = resolved if resolved is not None else closed if closed is not None else now_us
    # None: declared at today's severity and never changed (most incidents)
    recorded: list[list[Any]] = [] if row.severity_changes is None else _json_value(row.severity_changes)[0]
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

    def add(self, lasted: Durations, spent: Iterable[tuple[str, float]]) -> None:
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
            time_at_severity=tuple(sorted(self.severity.items(), key=lambda item: _natural_key(item[0]))),
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
        self.of = _PerValue(
            lambda value: tuple(
                groups.get(name) or groups.setdefault(name, _Group()) for name in names(value)
            )
        )
        self.key: Callable[[StatsRow], str | None] | None = None if by is None else attrgetter(_group_key(by))
        self.everything = self.of[None] if by is None else ()

    def results(self) -> tuple[GroupStats, ...]:
        """Each group's figures, in natural order of their names (SEV2 before SEV10)."""
        return tuple(self._groups[name].result(name) for name in sorted(self._groups, key=_natural_key))


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


class _SloImpact:
    """Each SLO service's impact inside the window: one interval of integer microseconds per incident on it
    (an open incident's impact runs until now, a closed one's without an end until it was closed)."""

    def __init__(self, slos: Mapping[str, float], *, since_us: int, until_us: int, now_us: int) -> None:
        self._slos = slos
        intervals: dict[str, list[tuple[int, int]]] = {service: [] for service in slos}
        self._intervals = intervals
        self._window = (since_us, until_us, now_us)
        # The SLO services of each distinct service list, looked up for every incident (a lambda over the
        # intervals, not self: no cycle).
        self.services_of = _PerValue(
            lambda services: [s for s in dict.fromkeys(json.loads(services or "[]")) if s in intervals]
        )

    def add(self, row: StatsRow, start: int, hit: Sequence[str]) -> None:
        """Adds an incident's impact to each of the services with an SLO it is on (`hit`)."""
        since_us, until_us, now_us = self._window
        end = row.impact_end_us
        if end is None:
            end = now_us if row.status in _OPEN or row.closed_us is None else row.closed_us
        clipped_start = since_us if start < since_us else start
        clipped_end = until_us if end > until_us else end
        if clipped_end > clipped_start:
            for service in hit:
                self._intervals[service].append((clipped_start, clipped_end))

    def results(self, window_seconds: float) -> tuple[ServiceAvailability, ...]:
        """Each SLO service's availability and error budget, in natural order of their names."""
        return tuple(
            _availability(service, self._slos[service], intervals, len(intervals), window_seconds)
            for service, intervals in sorted(self._intervals.items(), key=lambda item: _natural_key(item[0]))
        )


def _merged_seconds(intervals: list[tuple[int, int]]) -> float:
    """Total seconds covered by intervals of integer microseconds, overlaps counted once."""
    total = 0.0
    current: tuple[int, int] | None = None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]) / 1_000_000
            current = (start, end)
        elif end > current[1]:
            current = (current[0], end)
    if current is not None:
        total += (current[1] - current[0]) / 1_000_000
    return total


def _availability(
    service: str,
    slo: float,
    intervals: list[tuple[int, int]],
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


def stats_json(report: StatsReport) -> dict[str, object]:
    """The `hashi stats --format json` object of INTERFACE.md."""
    return {
        "window": {"since": iso_utc(report.since), "until": iso_utc(report.until)},
        "by": report.by,
        "count": report.count,
        "groups": {
            group.name: {
                "count": group.count,
                **{name: dist.as_dict() for name, dist in group.metrics},
                "time_at_severity": dict(group.time_at_severity),
            }
            for group in report.groups
        },
        "services": {
            s.service: {
                "slo": s.slo,
                "availability": s.availability,
                "error_budget_used": s.error_budget_used,
                "impact_seconds": s.impact_seconds,
                "error_budget_seconds": s.error_budget_seconds,
                "incidents": s.incidents,
            }
            for s in report.services
        },
        "flags": {
            flag.name: {
                "count": flag.count,
                "private": flag.private_count,
                "incidents": list(flag.incident_ids),
            }
            for flag in report.flags
        },
    }


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def align_rows(rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> list[str]:
    """Rows of cells as lines with aligned columns (right-aligned where asked)."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def percent(fraction: float, digits: int) -> str:
    """0.99912 as `99.912%`."""
    return f"{fraction * 100:.{digits}f}%"


def _slo_text(slo: float) -> str:
    """0.999 as `99.9%`."""
    return f"{slo * 100:.4f}".rstrip("0").rstrip(".") + "%"


def metric_label(name: str, lang: Lang) -> str:
    """`time to detect` / `検知までの時間`."""
    return t(f"metrics.{name}", lang)


def _flag_ids(flag: Flag, lang: Lang) -> str:
    """The listed ids of a flag, shortened for the table."""
    shown = [f"INC-{i}" for i in flag.incident_ids[:_TABLE_IDS]]
    more = len(flag.incident_ids) - len(shown)
    if more:
        shown.append(t("stats.more", lang, count=more))
    if flag.private_count:
        shown.append(t("stats.private", lang, count=flag.private_count))
    return t("list.separator", lang).join(shown)


def _group_name(name: str, lang: Lang) -> str:
    if name == ALL_GROUP:
        return t("stats.all", lang)
    if name == NO_VALUE_GROUP:
        return t("stats.no_value", lang)
    return t("stats.no_service", lang) if name == NO_SERVICE_GROUP else name


def stats_table(report: StatsReport, lang: Lang = DEFAULT_LANG) -> str:
    """The report as aligned plain text: distributions first (means alone mislead), durations readable."""
    since, until = format_local(report.since, _UTC_ZONE, lang), format_local(report.until, _UTC_ZONE, lang)
    if report.by and report.by.startswith(FIELD_GROUPING):
        heading = t(
            "stats.window_by_field",
            lang,
            since=since,
            until=until,
            count=report.count,
            field=report.by.removeprefix(FIELD_GROUPING),
        )
    else:
        key = f"stats.window_by_{report.by}" if report.by else "stats.window"
        heading = t(key, lang, since=since, until=until, count=report.count)
    lines = [heading, ""]
    if not report.groups:
        lines += ["  " + t("stats.empty", lang), ""]

    def took(seconds: float | None) -> str:
        return format_duration(seconds, lang)

    for group in report.groups:
        lines.append(t("stats.group", lang, name=_group_name(group.name, lang), count=group.count))
        rows = [[t(f"stats.column.{c}", lang) for c in ("metric", "n", "p50", "p90", "max", "mean")]]
        for name, dist in group.metrics:
            rows.append(
                [
                    metric_label(name, lang),
                    str(dist.count),
                    took(dist.p50),
                    took(dist.p90),
                    took(dist.max),
                    took(dist.mean),
                ]
            )
        lines += align_rows(rows, right=frozenset({1, 2, 3, 4, 5}))
        if group.time_at_severity:
            spent = t("list.separator", lang).join(f"{code} {took(s)}" for code, s in group.time_at_severity)
            lines.append("  " + t("stats.time_at_severity", lang, spent=spent))
        lines.append("")
    if report.services:
        lines.append(t("stats.services", lang))
        columns = ("service", "slo", "availability", "budget_used", "impact", "budget", "incidents")
        rows = [[t(f"stats.column.{c}", lang) for c in columns]]
        for s in report.services:
            rows.append(
                [
                    s.service,
                    _slo_text(s.slo),
                    percent(s.availability, 4),
                    percent(s.error_budget_used, 1),
                    took(s.impact_seconds),
                    took(s.error_budget_seconds),
                    str(s.incidents),
                ]
            )
        lines += align_rows(rows, right=frozenset({1, 2, 3, 4, 5, 6}))
        lines.append("")
    lines.append(t("stats.data_quality", lang))
    rows = [[t(f"stats.flag.{f.name}", lang), str(f.count), _flag_ids(f, lang)] for f in report.flags]
    lines += align_rows(rows, right=frozenset({1}))
    return "\n".join(lines) + "\n"


def csv_number(value: float | int | None) -> str:
    """A CSV cell: empty for None, else the shortest exact spelling."""
    return "" if value is None else repr(value)


def stats_csv(report: StatsReport) -> str:
    """The report as one long CSV table (`scope,name,measure,count,p50,p90,max,mean,value`), seconds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", "name", "measure", "count", "p50", "p90", "max", "mean", "value"])
    writer.writerow(["window", "", "since", "", "", "", "", "", iso_utc(report.since)])
    writer.writerow(["window", "", "until", "", "", "", "", "", iso_utc(report.until)])
    for group in report.groups:
        writer.writerow(["group", group.name, "incidents", "", "", "", "", "", group.count])
        for name, d in group.metrics:
            writer.writerow(
                ["group", group.name, name, d.count, *map(csv_number, (d.p50, d.p90, d.max, d.mean)), ""]
            )
        for code, seconds in group.time_at_severity:
            writer.writerow(
                ["group", group.name, f"time_at_severity:{code}", "", "", "", "", "", repr(seconds)]
            )
    for s in report.services:
        for measure, value in (
            ("slo", s.slo),
            ("availability", s.availability),
            ("error_budget_used", s.error_budget_used),
            ("impact_seconds", s.impact_seconds),
            ("error_budget_seconds", s.error_budget_seconds),
            ("incidents", s.incidents),
        ):
            writer.writerow(["service", s.service, measure, "", "", "", "", "", csv_number(value)])
    for flag in report.flags:
        ids = " ".join(str(i) for i in flag.incident_ids)
        writer.writerow(["flag", flag.name, "incidents", flag.count, "", "", "", "", ids])
    return out.getvalue()
