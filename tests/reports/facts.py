"""IncidentFacts: what stats need of one incident in the domain's values (datetimes, statuses, tuples), for
tests to write incidents by hand and for the straightforward oracle (reference_stats.py) to read. The bot
computes over StatsRow only; `row()` is the row an incident's facts make (bot.reports.stats_rows.stats_row),
`fact_of` reads a row back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.incidents.model import DEFAULT_TYPE, FieldValue, Milestones, Status
from bot.reports.stats_rows import stats_row
from readmodel.stats import StatsRow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IncidentFacts:
    """What stats need of one incident, in the domain's values."""

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

    def row(self) -> StatsRow:
        """The stats row of these facts."""
        return stats_row(
            id=self.id,
            severity=self.severity,
            services=self.services,
            private=self.private,
            status=self.status,
            milestones=self.milestones,
            severity_changes=self.severity_changes,
            incident_type=self.incident_type,
            fields=self.fields,
        )


def rows_of(facts: Iterable[IncidentFacts]) -> list[StatsRow]:
    """The stats rows of some incidents' facts, in order."""
    return [fact.row() for fact in facts]


def _datetime(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def fact_of(row: StatsRow) -> IncidentFacts:
    """A stats row read back as facts (its milestones UTC datetimes)."""
    recorded: list[list[Any]] = (
        [[row.declared_us, row.severity]]
        if row.severity_changes is None
        else json.loads(row.severity_changes)
    )
    return IncidentFacts(
        id=row.incident_id,
        severity=row.severity,
        services=tuple(json.loads(row.services)) if row.services else (),
        private=bool(row.private),
        status=Status(row.status),
        milestones=Milestones(
            impact_started_at=_datetime(row.impact_started_us),
            detected_at=_datetime(row.detected_us),
            declared_at=_datetime(row.declared_us),
            acknowledged_at=_datetime(row.acknowledged_us),
            mitigated_at=_datetime(row.mitigated_us),
            resolved_at=_datetime(row.resolved_us),
            closed_at=_datetime(row.closed_us),
            impact_ended_at=_datetime(row.impact_ended_us),
        ),
        severity_changes=tuple((_EPOCH + timedelta(microseconds=at), code) for at, code in recorded),
        incident_type=row.incident_type,
        fields=json.loads(row.custom_fields) if row.custom_fields else {},
    )
