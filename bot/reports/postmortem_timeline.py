"""The postmortem's timeline: a Mermaid gantt chart of the impact, the response phases and the severities,
then every milestone and event oldest first."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.incidents.escaping import escape_markdown
from bot.incidents.times import format_local
from bot.reports.postmortem_writer import UTC_ZONE, Writer

# A timeline event recorded this long after it happened (a backdated note) shows when it was recorded.
_BACKDATED_SECONDS = 60
# Only Slack's own message links become links in the draft.
_SLACK_PERMALINK = re.compile(
    r"https://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.slack\.com/archives/[A-Za-z0-9/_.?=&-]+"
)


def _mermaid_label(text: str) -> str:
    """Text safe inside a Mermaid label: letters, digits, spaces and `-_.` only."""
    kept = "".join(c if c.isalnum() or c in "-_." else " " for c in text)
    return " ".join(kept.split()) or "unnamed"


def _gantt(w: Writer, generated_at: datetime) -> str:
    """A Mermaid gantt chart of the impact, the response phases and the severities, in the draft's zone."""
    m = w.m
    # Mermaid reads times without an offset, so wall-clock times would run backwards across a daylight-saving
    # night (01:40 EDT, then 01:05 EST). Every time is written with the zone's offset at the chart's first
    # instant instead: durations stay right, and the axis shows the zone's time as it was at the start.
    first = min(
        (dt for dt in (m.start, m.detected_at, m.declared_at, *(b for b, _ in w.severity_history())) if dt),
        default=generated_at,
    )
    offset = first.astimezone(w.tz).utcoffset() or timedelta(0)

    def at(dt: datetime) -> str:
        return f"{dt.astimezone(UTC).replace(tzinfo=None) + offset:%Y-%m-%d %H:%M:%S}"

    def bar(label: str, begin: datetime, end: datetime, tag: str = "") -> str | None:
        if end <= begin:
            return None
        return f"    {_mermaid_label(label)} :{tag}{at(begin)}, {at(end)}"

    def g(key: str) -> str:
        return w.t(f"gantt.{key}")

    impact: list[str | None] = []
    if m.start is not None:
        end = m.impact_end
        label = g("outage") if end is not None else g("outage_ongoing")
        impact.append(bar(label, m.start, end or generated_at, "crit, "))
    # Each phase runs from one milestone to the next one reached, named after the one it ends at;
    # milestones out of order are skipped.
    points = [
        (m.impact_started_at, g("outage_began")),
        (m.detected_at, g("until_detected")),
        (m.declared_at, g("until_declared")),
        (m.acknowledged_at, g("until_acknowledged")),
        (m.mitigated_at, g("until_mitigated")),
        (m.resolved_at, g("until_resolved")),
    ]
    kept: list[tuple[datetime, str]] = []
    for dt, label in points:
        if dt is not None and (not kept or dt > kept[-1][0]):
            kept.append((dt, label))
    response = [bar(label, begin, end) for (begin, _), (end, label) in itertools.pairwise(kept)]
    if kept and m.resolved_at is None:
        response.append(bar(g("open"), kept[-1][0], generated_at, "active, "))
    history = w.severity_history()
    severity_end = m.resolved_at or m.closed_at or generated_at
    severities = [
        bar(code, begin, min(history[i + 1][0], severity_end) if i + 1 < len(history) else severity_end)
        for i, (begin, code) in enumerate(history)
    ]
    lines = [
        "```mermaid",
        "gantt",
        f"    title {_mermaid_label(g('title').format(id=w.snap.id))}",
        "    dateFormat YYYY-MM-DD HH:mm:ss",
        "    axisFormat %m-%d %H:%M",
    ]
    for name, bars in (("impact", impact), ("response", response), ("severity", severities)):
        present = [b for b in bars if b is not None]
        if present:
            lines.append(f"    section {_mermaid_label(g(name))}")
            lines += present
    if len(lines) == 5:
        return w.prompt("no_phases")
    return "\n".join([*lines, "```"])


@dataclass(frozen=True)
class _Line:
    """One line of the timeline: a milestone marker or an event."""

    at: datetime
    order: tuple[int, datetime, int]
    text: str


def timeline_section(w: Writer, generated_at: datetime) -> str:
    m = w.m
    markers = (
        (m.impact_started_at, "outage_begins"),
        (m.detected_at, "detected"),
        (m.mitigated_at, "mitigated"),
        (m.resolved_at, "resolved"),
        (m.impact_ended_at, "outage_ends"),
    )
    lines = [
        _Line(at=dt, order=(0, dt, index), text=f"**{w.t(f'marker.{key}')}**")
        for index, (dt, key) in enumerate(markers)
        if dt is not None
    ]
    for index, event in enumerate(w.snap.timeline):
        text = f"{w.person(event.actor)}: " if event.actor else ""
        text += w.text(event.text_in(w.lang)) or w.prompt("no_text")
        if (event.recorded_at - event.at).total_seconds() >= _BACKDATED_SECONDS:
            text += " " + w.prompt("recorded", when=w.local(event.recorded_at))
        if event.permalink and _SLACK_PERMALINK.fullmatch(event.permalink):
            text += f" <{event.permalink}>"
        lines.append(_Line(at=event.at, order=(1, event.recorded_at, index), text=text))
    lines.sort(key=lambda line: (line.at, line.order))
    zone = escape_markdown(w.tz.key)
    in_utc = format_local(generated_at, w.tz) == format_local(generated_at, UTC_ZONE)
    intro = w.t("times_in_utc") if in_utc else w.t("times_in_zone", zone=zone)
    body = [_gantt(w, generated_at), "", intro, ""]
    body += [f"- {w.when(line.at)} — {line.text}" for line in lines]
    if not lines:
        body.append(w.prompt("empty_timeline"))
    return "\n".join(body)
