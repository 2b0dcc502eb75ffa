"""The rows stats compute over (readmodel.stats.StatsRow): made from the domain's values, and as a person may
see them (private incidents counted, the services only they carry unnamed), or those of one service."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol, TypeVar

from bot.incidents.model import DEFAULT_TYPE, FieldValue, IncidentSnapshot, Milestones
from bot.reports.metrics import maybe_micros
from readmodel.milestones import unix_micros
from readmodel.stats import StatsRow

T = TypeVar("T")


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
    declared = maybe_micros(m.declared_at)
    return StatsRow(
        incident_id=id,
        severity=severity,
        services=json.dumps(list(services), ensure_ascii=False),
        private=private,
        status=str(status),
        impact_started_us=maybe_micros(m.impact_started_at),
        detected_us=maybe_micros(m.detected_at),
        declared_us=declared,
        acknowledged_us=maybe_micros(m.acknowledged_at),
        mitigated_us=maybe_micros(m.mitigated_at),
        resolved_us=maybe_micros(m.resolved_at),
        closed_us=maybe_micros(m.closed_at),
        impact_ended_us=maybe_micros(m.impact_ended_at),
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


class PerValue(dict[str | None, T]):
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
