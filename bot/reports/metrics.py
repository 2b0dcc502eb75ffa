"""Recovery-time metrics: per-incident durations, their distributions, time at severity, SLO error budgets."""

from __future__ import annotations

import csv
import gc
import io
import json
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Protocol, overload
from zoneinfo import ZoneInfo

from bot.i18n import DEFAULT_LANG, Lang, t
from bot.incidents.model import DEFAULT_TYPE, FieldValue, IncidentSnapshot, Milestones, Status
from bot.incidents.times import format_duration, format_local
from readmodel.milestones import Durations, durations, impact_end_of, start_of, unix_micros

# The five per-incident durations of DESIGN.md, in the order every report shows them.
METRICS: tuple[str, ...] = Durations._fields
# Data-quality flags, in the order reports show them.
FLAGS: tuple[str, ...] = ("missing_acknowledgement", "out_of_order", "still_open")
ALL_GROUP = "all"
NO_SERVICE_GROUP = "(no service)"
NO_VALUE_GROUP = "(no value)"  # incidents without a value for the custom field stats group by
FIELD_GROUPING = "field:"  # `by="field:<name>"` groups by a custom field's value
_UTC_ZONE = ZoneInfo("UTC")
# The table lists at most this many incident ids per flag; JSON and CSV list them all.
_TABLE_IDS = 10


def iso_utc(dt: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 UTC with a `Z` (`2026-11-24T05:05:00Z`), or None."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError(f"a naive datetime ({dt.isoformat()}) cannot be shown as UTC")
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


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


@dataclass(frozen=True)
class IncidentFacts:
    """What stats need of one incident: a cheap row, not a whole snapshot."""

    id: int
    severity: str
    services: tuple[str, ...]
    private: bool
    status: Status
    milestones: Milestones
    # (when, severity code) oldest first; the first is the declared severity.
    severity_changes: tuple[tuple[datetime, str], ...] = ()
    incident_type: str = DEFAULT_TYPE
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


def facts_of(snap: IncidentSnapshot) -> IncidentFacts:
    """The stats row of a full snapshot (for callers that already hold one)."""
    return IncidentFacts(
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


def unnamed_private_services(
    facts: Sequence[IncidentFacts], *, seen: Collection[int], configured: Collection[str]
) -> list[IncidentFacts]:
    """Incidents as someone sees them who is in only the `seen` private ones (unnamed_private_rows)."""
    rows = unnamed_private_rows([stats_row(f) for f in facts], seen=seen, configured=configured)
    return list(IncidentFactTable(rows))


def unnamed_private_rows(
    rows: Sequence[StatsRow], *, seen: Collection[int], configured: Collection[str]
) -> list[StatsRow]:
    """Stats rows as someone sees them who is in only the `seen` private incidents: every other private
    incident still counts, but keeps only the services that are configured or that an incident they may see
    carries, so its other services are never named (nor confirmed by asking for them). Only the services of
    those rows are rewritten; the rest go through untouched."""
    names: dict[str | None, list[str]] = {}

    def services(text: str | None) -> list[str]:
        if text not in names:
            names[text] = [str(n) for n in json.loads(text)] if text else []
        return names[text]

    known = {name.lower() for name in configured}
    for row in rows:
        if not row[3] or row[0] in seen:
            known |= {name.lower() for name in services(row[2])}
    out: list[StatsRow] = []
    for row in rows:
        if row[3] and row[0] not in seen:
            kept = [name for name in services(row[2]) if name.lower() in known]
            row = (row[0], row[1], json.dumps(kept, ensure_ascii=False), *row[3:])
        out.append(row)
    return out


class StatsSource(Protocol):
    """Where stats read their rows, and which private incidents a person is in (the incident service)."""

    async def stats_rows(self, *, since: datetime, until: datetime) -> list[Sequence[Any]]: ...

    async def private_incidents_of(self, *, user_id: str) -> set[int]: ...


async def facts_seen_by(
    source: StatsSource, *, user_id: str, since: datetime, until: datetime, configured: Collection[str]
) -> Sequence[IncidentFacts]:
    """The stats rows of a window as a person may see them: private incidents count, and the services only
    the private incidents they are not in carry stay unnamed (unnamed_private_services)."""
    rows: Sequence[StatsRow] = await source.stats_rows(since=since, until=until)  # type: ignore[assignment]
    if any(row[3] for row in rows):  # a private one
        seen = await source.private_incidents_of(user_id=user_id)
        rows = unnamed_private_rows(rows, seen=seen, configured=configured)
    return IncidentFactTable(rows)


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


# One incident as compute_stats reads it, which is how storage holds it (storage.stats): id, severity, the
# services as a JSON list of strings (None or "[]": none), private, status, the eight milestones in Milestones
# field order as integer Unix microseconds (None when not reached), then the severity changes as a JSON list
# of [integer Unix microseconds, code] in recording order, or None when the only one is the declaration, at
# declared_at, with today's severity; then the type, and the custom fields as a JSON object or None when there
# are none. Integers keep every difference exact: a difference in microseconds
# divided by 10**6 is the float timedelta.total_seconds() gives. The JSON is decoded as the rows are read,
# once per distinct service list, so a hundred thousand rows go from the database driver to the
# computation untouched.
StatsRow = tuple[
    int,
    str,
    str | None,
    bool,
    str,
    int | None,
    int | None,
    int | None,
    int | None,
    int | None,
    int | None,
    int | None,
    int | None,
    str | None,
    str,
    str | None,
]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPEN = frozenset(status.value for status in Status if status.is_open)


def start_micros(row: StatsRow) -> int | None:
    """An incident's start (readmodel.milestones.start_of) as Unix microseconds, read straight from its
    row (Milestones.start without decoding the row)."""
    return start_of(row[5], row[6], row[7])


def _maybe_micros(dt: datetime | None) -> int | None:
    return None if dt is None else unix_micros(dt)


def _datetime(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def stats_row(fact: IncidentFacts) -> StatsRow:
    """The row compute_stats reads for one incident, as storage would hold it."""
    m = fact.milestones
    changes = [[unix_micros(at), code] for at, code in fact.severity_changes]
    declared = _maybe_micros(m.declared_at)
    return (
        fact.id,
        fact.severity,
        json.dumps(fact.services, ensure_ascii=False),
        fact.private,
        fact.status,
        _maybe_micros(m.impact_started_at),
        _maybe_micros(m.detected_at),
        declared,
        _maybe_micros(m.acknowledged_at),
        _maybe_micros(m.mitigated_at),
        _maybe_micros(m.resolved_at),
        _maybe_micros(m.closed_at),
        _maybe_micros(m.impact_ended_at),
        None if changes == [[declared, fact.severity]] else json.dumps(changes, ensure_ascii=False),
        fact.incident_type,
        json.dumps(dict(fact.fields), ensure_ascii=False) if fact.fields else None,
    )


def _fact_of(row: StatsRow) -> IncidentFacts:
    incident_id, severity, services, private, status, *times, changes, incident_type, fields = row
    recorded: list[list[Any]] = [[times[2], severity]] if changes is None else json.loads(changes)
    return IncidentFacts(
        id=incident_id,
        severity=severity,
        services=tuple(json.loads(services)) if services else (),
        private=bool(private),
        status=Status(status),
        milestones=Milestones(*(_datetime(t) for t in times)),
        severity_changes=tuple((_EPOCH + timedelta(microseconds=at), code) for at, code in recorded),
        incident_type=incident_type,
        fields=json.loads(fields) if fields else {},
    )


class IncidentFactTable(Sequence[IncidentFacts]):
    """Incidents for stats as read from the database: plain rows that compute_stats reads directly, and
    IncidentFacts for anyone who indexes or iterates (built on first use)."""

    __slots__ = ("_facts", "rows")

    def __init__(self, rows: Sequence[StatsRow]) -> None:
        self.rows = rows
        self._facts: list[IncidentFacts] | None = None

    def _all(self) -> list[IncidentFacts]:
        if self._facts is None:
            self._facts = [_fact_of(row) for row in self.rows]
        return self._facts

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> IncidentFacts: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[IncidentFacts]: ...
    def __getitem__(self, index: int | slice) -> IncidentFacts | Sequence[IncidentFacts]:
        return self._all()[index]

    def __iter__(self) -> Iterator[IncidentFacts]:
        return iter(self._all())


class _GroupAccumulator:
    """Collects one group's durations (integer microseconds) while the incidents stream past."""

    __slots__ = ("acknowledge", "count", "detect", "impact", "mitigate", "resolve", "severity")

    def __init__(self) -> None:
        self.count = 0
        self.detect: list[int] = []
        self.acknowledge: list[int] = []
        self.mitigate: list[int] = []
        self.resolve: list[int] = []
        self.impact: list[int] = []
        self.severity: dict[str, float] = {}

    def result(self, name: str) -> GroupStats:
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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector around a synchronous block that builds many acyclic objects
    (the durations and decoded JSON of a hundred thousand incidents): the collections those allocations set
    off would walk every object the process holds, for nothing. Nothing else runs meanwhile (no await
    inside), and reference counting still frees what the block drops."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute_stats(
    facts: Iterable[IncidentFacts],
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
        rows = facts.rows if isinstance(facts, IncidentFactTable) else [stats_row(fact) for fact in facts]
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
    """compute_stats over plain rows, in one pass: integer arithmetic, floats only where reports show them."""
    since_us, until_us, now_us = unix_micros(since), unix_micros(until), unix_micros(now)
    groups: dict[str, _GroupAccumulator] = {}
    everything = _GroupAccumulator()
    if by is None:
        groups[ALL_GROUP] = everything
    flagged: dict[str, list[int]] = {name: [] for name in FLAGS}
    missing_ack, out_of_order, still_open = (flagged[name] for name in FLAGS)
    private_missing_ack = private_out_of_order = private_still_open = 0
    impact: dict[str, list[tuple[int, int]]] = {service: [] for service in slos}
    hit: dict[str, int] = dict.fromkeys(slos, 0)
    is_open = _OPEN.__contains__
    loads = json.loads
    slo_of: dict[str | None, list[str]] = {}  # the SLO services of each distinct service list
    group_names: dict[str | None, tuple[str, ...]] = {}  # the groups of each, by service
    field_name = by.removeprefix(FIELD_GROUPING) if by and by.startswith(FIELD_GROUPING) else None
    total = 0
    for (
        incident_id,
        severity,
        services,
        private,
        status,
        impact_started,
        detected,
        declared,
        acknowledged,
        mitigated,
        resolved,
        closed,
        impact_ended,
        changes,
        incident_type,
        fields,
    ) in rows:
        start = start_of(impact_started, detected, declared)
        if start is None:
            continue
        ended = impact_end_of(impact_ended, mitigated, resolved)
        open_ = is_open(status)
        if impact and services:
            slo_services = slo_of.get(services)
            if slo_services is None:
                slo_services = slo_of[services] = [s for s in dict.fromkeys(loads(services)) if s in impact]
            if slo_services:
                if ended is not None:
                    end = ended
                elif open_ or closed is None:
                    end = now_us
                else:
                    end = closed
                clipped_start = since_us if start < since_us else start
                clipped_end = until_us if end > until_us else end
                if clipped_end > clipped_start:
                    for service in slo_services:
                        impact[service].append((clipped_start, clipped_end))
                        hit[service] += 1
        if not since_us <= start < until_us:
            continue
        total += 1

        # Time at each severity: from each change to the next, the last to resolution (or now).
        last = resolved if resolved is not None else closed if closed is not None else now_us
        recorded: list[list[Any]] = [] if changes is None else loads(changes)
        if len(recorded) > 1:
            ordered = sorted(recorded, key=_first) if _unsorted(recorded) else recorded
            spent: dict[str, float] = {}
            for index, (at, code) in enumerate(ordered):
                if index + 1 < len(ordered):
                    following = ordered[index + 1][0]
                    upto = following if following < last else last
                else:
                    upto = last
                spent[code] = spent.get(code, 0.0) + (upto - at if upto > at else 0) / 1_000_000
            spent_items: Iterable[tuple[str, float]] = spent.items()
        else:
            at, code = recorded[0] if recorded else (declared if declared is not None else start, severity)
            spent_items = ((code, (last - at if last > at else 0) / 1_000_000),)

        # The five durations; a negative one is out of order and left out, except detection before impact
        # start, which is real (an alert on a precursor): no lag.
        if by is None:
            targets: Iterable[_GroupAccumulator] = (everything,)
        else:
            if by == "severity":
                names: tuple[str, ...] = (severity,)
            elif by == "type":
                names = (incident_type,)
            elif field_name is not None:
                value = loads(fields).get(field_name) if fields else None
                names = (NO_VALUE_GROUP,) if value is None or value == "" else (str(value),)
            else:
                names = group_names.get(services) or group_names.setdefault(
                    services, tuple(dict.fromkeys(loads(services) if services else ())) or (NO_SERVICE_GROUP,)
                )
            targets = [groups.get(name) or groups.setdefault(name, _GroupAccumulator()) for name in names]
        for acc in targets:
            acc.count += 1
            if detected is not None and impact_started is not None:
                lag = detected - impact_started
                acc.detect.append(lag if lag > 0 else 0)
            if acknowledged is not None and declared is not None and acknowledged >= declared:
                acc.acknowledge.append(acknowledged - declared)
            if mitigated is not None and mitigated >= start:
                acc.mitigate.append(mitigated - start)
            if resolved is not None and resolved >= start:
                acc.resolve.append(resolved - start)
            if ended is not None and ended >= start:
                acc.impact.append(ended - start)
            seconds = acc.severity
            for code, value in spent_items:
                seconds[code] = seconds.get(code, 0.0) + value

        # Data-quality flags; private incidents are counted, never listed.
        if acknowledged is None:
            if private:
                private_missing_ack += 1
            else:
                missing_ack.append(incident_id)
        if (
            (declared is not None and acknowledged is not None and acknowledged < declared)
            or (mitigated is not None and mitigated < start)
            or (resolved is not None and resolved < start)
            or (impact_ended is not None and impact_ended < start)
            or (mitigated is not None and resolved is not None and resolved < mitigated)
            or (resolved is not None and closed is not None and closed < resolved)
            or (declared is not None and closed is not None and closed < declared)
        ):
            if private:
                private_out_of_order += 1
            else:
                out_of_order.append(incident_id)
        if open_:
            if private:
                private_still_open += 1
            else:
                still_open.append(incident_id)
    flagged_private = dict(
        zip(FLAGS, (private_missing_ack, private_out_of_order, private_still_open), strict=True)
    )
    window_seconds = (until - since).total_seconds()
    order = sorted(groups, key=_natural_key)
    return StatsReport(
        since=since,
        until=until,
        by=by,
        count=total,
        groups=tuple(groups[name].result(name) for name in order),
        services=tuple(
            _availability(service, slos[service], impact[service], hit[service], window_seconds)
            for service in sorted(slos, key=_natural_key)
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


def _first(change: Sequence[Any]) -> int:
    at: int = change[0]
    return at


def _unsorted(changes: Sequence[Sequence[Any]]) -> bool:
    """Whether the changes are out of time order (a backdated change); sorting is stable either way."""
    return any(changes[i][0] > changes[i + 1][0] for i in range(len(changes) - 1))


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
