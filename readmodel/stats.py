"""StatsRow: one incident as stats read it, defined once. Storage writes and reads these rows (the
incident_stats table, whose columns bear the same names); the reports compute over them by field name.

Milestones are integer Unix microseconds rounded to the millisecond (storage.stats), so every difference is
exact: a difference divided by 10**6 is the float timedelta.total_seconds() gives. The JSON fields stay text
as the database gives them, decoded only by whoever needs them (stats decode a service list once for all the
incidents that share it): a year is a hundred thousand rows.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from readmodel.milestones import Durations, durations, impact_end_of, start_of


@dataclass(slots=True)
class StatsRow:
    """One incident as stats read it (the incident_stats table's columns, in its order). Never changed once
    made (not frozen: a frozen dataclass takes four times as long to make, and a year is a hundred thousand
    rows); slots, so stats read its fields as fast as locals."""

    incident_id: int
    severity: str
    services: str | None  # the JSON list of service names; None or "[]" when there are none
    private: bool
    status: str
    # The milestones (Milestones' fields, in their order), each None until reached.
    impact_started_us: int | None
    detected_us: int | None
    declared_us: int | None
    acknowledged_us: int | None
    mitigated_us: int | None
    resolved_us: int | None
    closed_us: int | None
    impact_ended_us: int | None
    # The severity history as a JSON list of [microseconds, code] in recording order (the first is the
    # declaration); None when that is all there is, at declared_us with today's severity (most incidents).
    severity_changes: str | None
    incident_type: str
    custom_fields: str | None  # the JSON object of the incident's custom fields; None when it has none

    @property
    def start_us(self) -> int | None:
        """When the incident started (readmodel.milestones.start_of)."""
        return start_of(self.impact_started_us, self.detected_us, self.declared_us)

    @property
    def impact_end_us(self) -> int | None:
        """When its impact ended (readmodel.milestones.impact_end_of); None while it lasts."""
        return impact_end_of(self.impact_ended_us, self.mitigated_us, self.resolved_us)

    def durations(self) -> Durations:
        """Its five recovery-time durations in microseconds (readmodel.milestones.durations)."""
        return durations(
            self.impact_started_us,
            self.detected_us,
            self.declared_us,
            self.acknowledged_us,
            self.mitigated_us,
            self.resolved_us,
            self.impact_ended_us,
        )


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector while stats read or compute over a year of incidents: a
    hundred thousand rows, and the durations and decoded JSON made of them, are new objects none of which can
    be in a cycle, and the collections their allocation sets off would walk every object the process holds,
    for nothing. Reference counting still frees what is dropped. Pauses that overlap (two reads awaiting
    their rows at once) leave the collector on when the last one ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
