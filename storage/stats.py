"""The incident_stats table: one narrow row per incident, rebuilt from the incident and its timeline by every
write that changes what stats read, so `hashi stats` reads a year of incidents in one scan.

What a row holds is computed here only (milestones as integer Unix microseconds rounded to the millisecond,
the severity codes of the declaration and severity events), so a row is exactly what a fresh read would give;
stats read it back as a readmodel.stats.StatsRow (stats_rows_query), whose fields are the columns read.
Writes mark the incidents they change (storage.repository: an ORM change to a stats column, a declaration or
severity event) and the transaction refreshes their rows before it commits.
`refresh_incident_stats(connection, None)` rebuilds every row: the last migration (0011) and bulk loads run
it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import starmap
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Float,
    Select,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlmodel import col

from readmodel.milestones import IMPACT_END_MILESTONES, START_MILESTONES, impact_end_of, start_of, unix_micros
from readmodel.stats import StatsRow
from storage.models import Incident, IncidentStats, TimelineEvent

JULIAN_UNIX_EPOCH = 2440587.5  # SQLite's julianday() of 1970-01-01T00:00Z
MILESTONE_COLUMNS = (
    "impact_started_at",
    "detected_at",
    "declared_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
    "impact_ended_at",
)
SEVERITY_EVENT_KINDS = ("declared", "severity")  # the timeline events that carry a severity code
# The incident attributes a stats row is made of: an ORM change to one of them refreshes the row.
STATS_INPUTS = frozenset(
    {"severity", "services", "private", "status", "incident_type", "custom_fields", *MILESTONE_COLUMNS}
)
MICROS_COLUMNS = tuple(name.removesuffix("_at") + "_us" for name in MILESTONE_COLUMNS)
BATCH = 5_000  # incidents refreshed per statement when rebuilding everything
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def unix_seconds(column: Any, dialect: str) -> ColumnElement[float]:
    """A UTC timestamp column as the database's Unix seconds, a double: what stats always rounded
    (millisecond_micros). SQLite's julianday() holds whole milliseconds; PostgreSQL's epoch is exact to the
    microsecond, as a double the nearest one to it."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", column), Float)
    return (func.julianday(column) - JULIAN_UNIX_EPOCH) * 86_400.0


def millisecond_micros(seconds: float | None) -> int | None:
    """The database's Unix seconds (unix_seconds) as integer Unix microseconds rounded to the millisecond,
    the one rounding stats have always used: Python's round() to 3 decimals, so a time at exactly half a
    millisecond goes the way the double lies (to the even millisecond when the double is the half itself)."""
    if seconds is None:
        return None
    thousandths = seconds * 1000.0
    millis = round(thousandths)
    # The product is within 2**-10 of the exact thousandths for any time before 2248, so it rounds as
    # round(seconds, 3) does unless it lies that close to a half (a time at …500 µs): ask round() then.
    if abs(thousandths - millis) > 0.499:
        millis = round(round(seconds, 3) * 1000)
    return millis * 1000


def micros_datetime(micros: int) -> datetime:
    """Exact integer Unix microseconds (readmodel.milestones.unix_micros) back as an aware UTC datetime."""
    return _EPOCH + micros * _MICROSECOND


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def refresh_incident_stats(connection: Connection, ids: Collection[int] | None) -> int:
    """Rebuilds the stats rows of the given incidents (every incident when `ids` is None) inside the
    connection's transaction; returns how many rows it wrote. An id without an incident loses its row."""
    dialect = connection.dialect.name
    wanted: list[int]
    if ids is None:
        wanted = list(connection.execute(text("SELECT id FROM incident ORDER BY id")).scalars())
        connection.execute(delete(IncidentStats))
    else:
        wanted = sorted(set(ids))
    written = 0
    for chunk in _chunks(wanted):
        if ids is not None:
            connection.execute(delete(IncidentStats).where(col(IncidentStats.incident_id).in_(chunk)))
        records = list(_records(connection, dialect, chunk))
        if records:
            connection.execute(insert(IncidentStats), records)
        written += len(records)
    return written


@cache
def _record_queries(dialect: str) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]]]:
    """The two reads a stats row is made of, built once per dialect (building these expressions costs more
    than running them for one incident): severity changes, then the incidents' columns (the row's, milestones
    as Unix seconds, then the exact milestones its window needs: _records unpacks them); `ids` expands."""
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    data = col(TimelineEvent.data)
    code = func.coalesce(data["to"].as_string(), data["severity"].as_string())
    changes: Select[*tuple[Any, ...]] = (
        select(col(TimelineEvent.incident_id), unix_seconds(col(TimelineEvent.at), dialect), code)
        .where(
            col(TimelineEvent.incident_id).in_(ids),
            col(TimelineEvent.kind).in_(SEVERITY_EVENT_KINDS),
            code != "",
        )
        .order_by(col(TimelineEvent.incident_id), col(TimelineEvent.recorded_at), col(TimelineEvent.id))
    )
    incidents: Select[*tuple[Any, ...]] = select(
        col(Incident.id),
        col(Incident.severity),
        cast(col(Incident.services), Text),
        col(Incident.private),
        col(Incident.status),
        *(unix_seconds(getattr(Incident, name), dialect) for name in MILESTONE_COLUMNS),
        *(getattr(Incident, name) for name in (*START_MILESTONES, *IMPACT_END_MILESTONES)),
        col(Incident.incident_type),
        cast(col(Incident.custom_fields), Text),
    ).where(col(Incident.id).in_(ids))
    return changes, incidents


def _records(connection: Connection, dialect: str, ids: list[int]) -> Iterator[dict[str, Any]]:
    """The incident_stats rows of some incidents, from the incident rows and their timelines."""
    changes_query, incidents_query = _record_queries(dialect)
    changes: dict[int, list[list[Any]]] = {}
    for changed_id, seconds, severity in connection.execute(changes_query, {"ids": ids}):
        changes.setdefault(changed_id, []).append([millisecond_micros(seconds), severity])
    for (  # the incidents query's columns, in its order
        incident_id,
        severity,
        services,
        private,
        status,
        *seconds,  # MILESTONE_COLUMNS
        impact_started,
        detected,
        declared,
        impact_ended,
        mitigated,
        resolved,
        incident_type,
        custom_fields,
    ) in connection.execute(incidents_query, {"ids": ids}):
        milestones = dict(zip(MICROS_COLUMNS, map(millisecond_micros, seconds), strict=True))
        found = changes.get(incident_id, [])
        trivial = len(found) == 1 and found[0] == [milestones["declared_us"], severity]
        start = start_of(impact_started, detected, declared)
        assert start is not None  # declared_at is NOT NULL
        end = impact_end_of(impact_ended, mitigated, resolved)
        yield {
            "incident_id": incident_id,
            "severity": severity,
            "services": services or "[]",
            "private": bool(private),
            "status": status,
            **milestones,
            "severity_changes": None if trivial else json.dumps(found, separators=(",", ":")),
            "window_start_us": unix_micros(start),
            "window_end_us": None if end is None else unix_micros(end),
            "incident_type": incident_type,
            "custom_fields": None if not custom_fields or json.loads(custom_fields) == {} else custom_fields,
        }


def stats_rows_query(*, since: datetime, until: datetime) -> Select[*tuple[Any, ...]]:
    """The rows stats read (StatsRow's columns) of the incidents that started in [since, until), or before it
    and were still hurting inside it (availability), in id order."""
    start, end = col(IncidentStats.window_start_us), col(IncidentStats.window_end_us)
    since_us, until_us = unix_micros(since), unix_micros(until)
    return (
        select(*(getattr(IncidentStats, field.name) for field in fields(StatsRow)))
        .where(start < until_us, or_(start >= since_us, end.is_(None), end > since_us))
        .order_by(col(IncidentStats.incident_id))
    )


def as_stats_rows(rows: Iterable[Iterable[Any]]) -> list[StatsRow]:
    """The database driver's rows of stats_rows_query as StatsRow: its columns are StatsRow's, in order, so
    each row is StatsRow's arguments as they are (starmap makes them a third faster than a comprehension of
    StatsRow(*row): a year is a hundred thousand rows)."""
    return list(starmap(StatsRow, rows))
