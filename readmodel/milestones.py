"""DESIGN.md's rules over an incident's milestones, written once: when it started, when its impact ended, and
its five recovery-time durations.

The domain (Milestones), storage (incident_stats), stats, the incident page and the postmortem all ask these,
over aware datetimes or integer Unix microseconds alike: a rule only picks among the moments it is given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple, TypeVar

# Which milestone stands for the start (and the end of the impact) when several are known, first choice first.
START_MILESTONES = ("impact_started_at", "detected_at", "declared_at")
IMPACT_END_MILESTONES = ("impact_ended_at", "mitigated_at", "resolved_at")

Moment = TypeVar("Moment")  # an aware datetime, or integer Unix microseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def unix_micros(at: datetime) -> int:
    """An aware datetime as exact integer Unix microseconds, the unit of StatsRow and Durations (differences
    of integers are exact: one divided by 10**6 is the float timedelta.total_seconds() gives)."""
    return (at - _EPOCH) // _MICROSECOND


def start_of(
    impact_started: Moment | None, detected: Moment | None, declared: Moment | None
) -> Moment | None:
    """When an incident started: impact start, else detection, else declaration (START_MILESTONES)."""
    if impact_started is not None:
        return impact_started
    return detected if detected is not None else declared


def impact_end_of(
    impact_ended: Moment | None, mitigated: Moment | None, resolved: Moment | None
) -> Moment | None:
    """When an incident's impact ended: impact end, else mitigation, else resolution (IMPACT_END_MILESTONES);
    None while it lasts."""
    if impact_ended is not None:
        return impact_ended
    return mitigated if mitigated is not None else resolved


class Durations(NamedTuple):
    """The five recovery-time durations of one incident in integer microseconds, in the order every report
    shows them; None when a milestone is missing, negative when two lie the wrong way round."""

    time_to_detect: int | None
    time_to_acknowledge: int | None
    time_to_mitigate: int | None
    time_to_resolve: int | None
    impact_duration: int | None


_new_tuple = tuple.__new__  # Durations(…) without its argument-checking __new__
# Durations' values as a plain tuple (duration_values).
DurationValues = tuple[int | None, int | None, int | None, int | None, int | None]


def durations(
    impact_started: int | None,
    detected: int | None,
    declared: int | None,
    acknowledged: int | None,
    mitigated: int | None,
    resolved: int | None,
    impact_ended: int | None,
) -> Durations:
    """DESIGN.md's durations from milestones in integer Unix microseconds (differences of integers are exact),
    given in Milestones' order: detect = detected − impact start; acknowledge = acknowledged − declared;
    mitigate, resolve and impact = mitigated, resolved and impact end − start."""
    return _new_tuple(
        Durations,
        duration_values(impact_started, detected, declared, acknowledged, mitigated, resolved, impact_ended),
    )


def duration_values(
    impact_started: int | None,
    detected: int | None,
    declared: int | None,
    acknowledged: int | None,
    mitigated: int | None,
    resolved: int | None,
    impact_ended: int | None,
) -> DurationValues:
    """durations() as a plain tuple, in Durations' order: stats make one per incident, up to three times a
    page, and a Durations costs three tuples to make."""
    # start_of and impact_end_of, written out for the same reason.
    if impact_started is not None:
        start = impact_started
    elif detected is not None:
        start = detected
    elif declared is not None:
        start = declared
    else:  # no impact start, detection or declaration: nothing to measure from
        return (None, None, None, None, None)
    ended = impact_ended if impact_ended is not None else mitigated if mitigated is not None else resolved
    return (
        None if detected is None or impact_started is None else detected - impact_started,
        None if acknowledged is None or declared is None else acknowledged - declared,
        None if mitigated is None else mitigated - start,
        None if resolved is None else resolved - start,
        None if ended is None else ended - start,
    )
