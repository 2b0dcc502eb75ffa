"""Service level objectives: each SLO service's impact inside a window, its availability and the error budget
it used."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from bot.reports.formatting import natural_key
from bot.reports.stats_rows import PerValue
from readmodel import OPEN_STATUSES
from readmodel.stats import StatsRow

_OPEN = frozenset(OPEN_STATUSES)


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


def _no_services(_: str | None) -> list[str]:
    return []


class SloImpact:
    """Each SLO service's impact inside the window: one interval of integer microseconds per incident on it
    (an open incident's impact runs until now, a closed one's without an end until it was closed)."""

    def __init__(self, slos: Mapping[str, float], *, since_us: int, until_us: int, now_us: int) -> None:
        self._slos = slos
        intervals: dict[str, list[tuple[int, int]]] = {service: [] for service in slos}
        self._intervals = intervals
        self._window = (since_us, until_us, now_us)
        # The SLO services of each distinct service list, looked up for every incident (a lambda over the
        # intervals, not self: no cycle); none without SLOs, when the service lists are not decoded (the
        # reliability page's 66 compute_stats over months and weeks have no SLOs).
        self.services_of = PerValue(
            (lambda services: [s for s in dict.fromkeys(json.loads(services or "[]")) if s in intervals])
            if intervals
            else _no_services
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
            for service, intervals in sorted(self._intervals.items(), key=lambda item: natural_key(item[0]))
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
