"""Recovery-time metrics: the five durations of one incident (DESIGN.md) and how a duration spreads over
incidents (percentiles, distributions)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.i18n import Lang, t
from bot.incidents.model import Milestones
from readmodel.milestones import Durations, durations, unix_micros

# The five per-incident durations of DESIGN.md, in the order every report shows them.
METRICS: tuple[str, ...] = Durations._fields


def maybe_micros(dt: datetime | None) -> int | None:
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
        impact_started=maybe_micros(m.impact_started_at),
        detected=maybe_micros(m.detected_at),
        declared=maybe_micros(m.declared_at),
        acknowledged=maybe_micros(m.acknowledged_at),
        mitigated=maybe_micros(m.mitigated_at),
        resolved=maybe_micros(m.resolved_at),
        impact_ended=maybe_micros(m.impact_ended_at),
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


def metric_label(name: str, lang: Lang) -> str:
    """`time to detect` / `検知までの時間`."""
    return t(f"metrics.{name}", lang)
