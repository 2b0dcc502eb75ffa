"""The postmortem draft: Markdown shaped like the SRE book's example, safe to refresh around human edits."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.incidents.escaping import escape_markdown, escape_markdown_cell
from bot.incidents.model import ChecklistItemView, EventKind, IncidentSnapshot, Milestones, TimelineEntry
from bot.incidents.times import format_duration, format_local
from bot.reports.metrics import METRIC_LABELS, impact_end, incident_metrics

_UTC = ZoneInfo("UTC")
# A timeline event recorded this long after it happened (a backdated note) shows when it was recorded.
_BACKDATED_SECONDS = 60
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>|]*))?>")
_CHANNEL_MENTION = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^<>|]*))?>")
# Only Slack's own message links become links in the draft.
_SLACK_PERMALINK = re.compile(
    r"https://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.slack\.com/archives/[A-Za-z0-9/_.?=&-]+"
)
_MARKER_LINE = re.compile(r"<!-- hashi:(?P<edge>begin|end) (?P<name>[a-z][a-z0-9-]*) -->[ \t]*")
# Anything that looks like it was meant to be a Hashi marker, so a mangled one is reported, not ignored.
_MARKER_LIKE = re.compile(r"<!--\s*/?\s*hashi\s*:", re.IGNORECASE)

# The headings of the draft, in order (the SRE book's example postmortem).
SECTION_HEADINGS: tuple[str, ...] = (
    "Date",
    "Authors",
    "Status",
    "Summary",
    "Impact",
    "Root Causes",
    "Trigger",
    "Resolution",
    "Detection",
    "Action Items",
    "Lessons Learned",
    "Timeline",
    "Supporting information",
)
LESSONS_HEADINGS: tuple[str, ...] = ("What went well", "What went wrong", "Where we got lucky")


def _when(dt: datetime, tz: ZoneInfo) -> str:
    """`2026-11-24 14:05 JST (2026-11-24 05:05 UTC)`, or the UTC time alone when the zone shows UTC."""
    local, utc = format_local(dt, tz), format_local(dt, _UTC)
    return utc if local == utc else f"{local} ({utc})"


def _after(later: datetime | None, earlier: datetime | None, what: str) -> str:
    """`, 5m after the outage began` when both are known."""
    if later is None or earlier is None:
        return ""
    return f", {format_duration((later - earlier).total_seconds())} after {what}"


class _Writer:
    """Turns one snapshot into Markdown pieces; holds the zone and the names for people."""

    def __init__(self, snap: IncidentSnapshot, *, tz: ZoneInfo, names: Mapping[str, str]) -> None:
        self.snap = snap
        self.tz = tz
        self.names = names
        self.m: Milestones = snap.milestones

    def person(self, user_id: str | None) -> str:
        """A user's display name (their id when unknown), escaped."""
        if not user_id:
            return "_nobody_"
        return escape_markdown(self.names.get(user_id) or user_id)

    def _unwrap(self, text: str) -> str:
        """Slack's `<@U123>` and `<#C123|name>` as `@Name` and `#name`, before escaping."""

        def user(found: re.Match[str]) -> str:
            return "@" + (self.names.get(found[1]) or found[2] or found[1])

        def channel(found: re.Match[str]) -> str:
            return "#" + (found[2] or found[1])

        return _CHANNEL_MENTION.sub(channel, _USER_MENTION.sub(user, text))

    def text(self, text: str) -> str:
        """User text for an inline spot: mentions resolved, escaped, on one line."""
        return escape_markdown(self._unwrap(text))

    def cell(self, text: str) -> str:
        """User text for a table cell."""
        return escape_markdown_cell(self._unwrap(text))

    def when(self, dt: datetime) -> str:
        return _when(dt, self.tz)

    def severity_history(self) -> tuple[tuple[datetime, str], ...]:
        """Severity changes oldest first (the declared severity when none was recorded)."""
        history = tuple(sorted(self.snap.severity_history, key=lambda change: change[0]))
        if history:
            return history
        first = self.m.declared_at or self.m.start
        return ((first, self.snap.severity),) if first is not None else ()

    def events(self, kind: EventKind) -> list[TimelineEntry]:
        return [e for e in _ordered(self.snap.timeline) if e.kind == kind.value]

    def start_label(self) -> str:
        if self.m.impact_started_at is not None:
            return "the outage began"
        return "detection" if self.m.detected_at is not None else "declaration"


def _ordered(timeline: Sequence[TimelineEntry]) -> list[TimelineEntry]:
    """Events oldest first by when they happened, then by when they were recorded (stable)."""
    return sorted(timeline, key=lambda e: (e.at, e.recorded_at))


def _section(name: str, body: str) -> str:
    """A part Hashi owns, between markers that update_postmortem recognises."""
    return f"<!-- hashi:begin {name} -->\n\n{body.strip()}\n\n<!-- hashi:end {name} -->"


def _title(snap: IncidentSnapshot) -> str:
    """The first heading, kept tight between its markers (a heading needs no blank lines)."""
    heading = f"# INC-{snap.id}: {escape_markdown(snap.title)}"
    return f"<!-- hashi:begin title -->\n{heading}\n<!-- hashi:end title -->"


def _prompt(text: str) -> str:
    """A note where only people can write."""
    return f"_{text}_"


def _about(w: _Writer, generated_at: datetime) -> str:
    lines = []
    if w.snap.private:
        lines += ["> **Private incident.** Share this draft only with the incident's members.", ""]
    lines.append(
        f"_Draft generated by Hashi on {w.when(generated_at)} from the incident's record in Slack. "
        f"`hashi export {w.snap.id} --update FILE` refreshes the parts Hashi wrote (between "
        "`hashi:begin` and `hashi:end` comments) and keeps everything else as you wrote it; "
        "delete a pair of comments to take that part over._"
    )
    return "\n".join(lines)


def _date(w: _Writer) -> str:
    known = [dt for dt in w.m.as_dict().values() if dt is not None] + [e.at for e in w.snap.timeline]
    if not known:
        return _prompt("No times were recorded.")
    first, last = (min(known).astimezone(w.tz).date(), max(known).astimezone(w.tz).date())
    days = first.isoformat() if first == last else f"{first.isoformat()} → {last.isoformat()}"
    line = f"**{days}** (times in {escape_markdown(w.tz.key)})"
    if w.m.declared_at is not None:
        line += f"; declared {w.when(w.m.declared_at)}"
    return line + "."


def _status(w: _Writer, generated_at: datetime) -> str:
    snap = w.snap
    reopened = len(w.events(EventKind.REOPENED))
    line = f"Incident **{snap.status.value}** at **{escape_markdown(snap.severity)}**"
    line += f" as of {w.when(generated_at)}."
    if reopened:
        line += f" Reopened {reopened} time{'s' if reopened > 1 else ''}."
    return line


def _summary(w: _Writer) -> str:
    snap = w.snap
    paragraphs = [w.text(p) for p in re.split(r"\n\s*\n", snap.summary) if p.strip()]
    lines = ["\n\n".join(paragraphs) if paragraphs else _prompt("No summary was recorded in Slack."), ""]
    history = w.severity_history()
    severity = escape_markdown(snap.severity)
    if history and history[0][1] != snap.severity:
        severity += f" (declared {escape_markdown(history[0][1])})"
    services = ", ".join(escape_markdown(s) for s in snap.services) or _prompt("none recorded")
    lines += [
        f"- **Severity:** {severity}",
        f"- **Services:** {services}",
        f"- **Lead:** {w.person(snap.lead) if snap.lead else _prompt('none assigned')}",
    ]
    if snap.channel_id:
        lines.append(f"- **Slack channel:** {escape_markdown(snap.channel_id)}")
    return "\n".join(lines)


def _metrics_table(w: _Writer) -> str:
    m = w.m
    start = {
        "outage begins": m.impact_started_at,
        "detected": m.detected_at,
        "declared": m.declared_at,
    }
    start_name = next((name for name, dt in start.items() if dt is not None), "start")
    end_names = (
        ("impact ends", m.impact_ended_at),
        ("mitigated", m.mitigated_at),
        ("resolved", m.resolved_at),
    )
    end_name = next((name for name, dt in end_names if dt is not None), "impact ends")
    spans = {
        "time_to_detect": ("outage begins", "detected"),
        "time_to_acknowledge": ("declared", "acknowledged"),
        "time_to_mitigate": (start_name, "mitigated"),
        "time_to_resolve": (start_name, "resolved"),
        "impact_duration": (start_name, end_name),
    }
    rows = ["| Metric | Duration | From | To |", "|---|---|---|---|"]
    for name, seconds in incident_metrics(m).as_dict().items():
        begin, end = spans[name]
        rows.append(f"| {METRIC_LABELS[name].capitalize()} | {format_duration(seconds)} | {begin} | {end} |")
    return "\n".join(rows)


def _impact(w: _Writer, generated_at: datetime) -> str:
    m = w.m
    start, end = m.start, impact_end(m)
    if start is None:
        window = _prompt("not recorded")
    elif end is None:
        ongoing = format_duration((generated_at - start).total_seconds())
        window = f"{w.when(start)} → still ongoing at {w.when(generated_at)}, {ongoing} so far"
    else:
        window = f"{w.when(start)} → {w.when(end)}, {format_duration((end - start).total_seconds())}"
    services = ", ".join(escape_markdown(s) for s in w.snap.services) or _prompt("none recorded")
    lines = [
        f"- **Impact window:** {window}",
        f"- **Services affected:** {services}",
        "- **Severity history:**",
    ]
    for index, (at, code) in enumerate(w.severity_history()):
        note = " (declared)" if index == 0 else ""
        lines.append(f"  - {w.when(at)}: {escape_markdown(code)}{note}")
    lines += ["", "**Recovery metrics**", "", _metrics_table(w)]
    return "\n".join(lines)


def _resolution(w: _Writer) -> str:
    m = w.m
    start = m.start
    mitigated = (
        f"{w.when(m.mitigated_at)}{_after(m.mitigated_at, start, w.start_label())}"
        if m.mitigated_at is not None
        else _prompt("not recorded")
    )
    resolved = (
        f"{w.when(m.resolved_at)}{_after(m.resolved_at, start, w.start_label())}"
        if m.resolved_at is not None
        else _prompt("not resolved yet")
    )
    lines = [f"- **Mitigated:** {mitigated}", f"- **Resolved:** {resolved}"]
    moves = [e for e in _ordered(w.snap.timeline) if e.kind in (EventKind.RESOLVED, EventKind.REOPENED)]
    if moves:
        lines.append("- **Resolutions and reopenings in Slack:**")
        for event in moves:
            actor = f"{w.person(event.actor)}: " if event.actor else ""
            lines.append(f"  - {w.when(event.at)} — {actor}{w.text(event.text)}")
    return "\n".join(lines)


def _detection(w: _Writer) -> str:
    m = w.m
    began = w.when(m.impact_started_at) if m.impact_started_at else _prompt("not recorded")
    detected = (
        f"{w.when(m.detected_at)}{_after(m.detected_at, m.impact_started_at, 'the outage began')}"
        if m.detected_at
        else _prompt("not recorded")
    )
    declared = _prompt("not recorded")
    if m.declared_at is not None:
        by = f" by {w.person(w.snap.declared_by)}" if w.snap.declared_by else ""
        declared = f"{w.when(m.declared_at)}{by}"
    acknowledged = (
        f"{w.when(m.acknowledged_at)}{_after(m.acknowledged_at, m.declared_at, 'declaration')}"
        if m.acknowledged_at
        else _prompt("not recorded")
    )
    return "\n".join(
        [
            f"- **Outage began:** {began}",
            f"- **Detected:** {detected}",
            f"- **Declared:** {declared}",
            f"- **Acknowledged:** {acknowledged}",
        ]
    )


def _action_items(w: _Writer) -> str:
    if not w.snap.followups:
        return _prompt("No follow-ups were recorded in Slack (`/incident followup <text>`).")
    rows = ["| Action | Type | Owner | Link |", "|---|---|---|---|"]
    for item in w.snap.followups:
        action = w.cell(item.text) + (" **(done)**" if item.done else "")
        owner = escape_markdown_cell(w.names.get(item.owner) or item.owner) if item.owner else "—"
        rows.append(f"| {action} | — | {owner} | — |")
    return "\n".join(rows)


def _mermaid_label(text: str) -> str:
    """Text safe inside a Mermaid label: letters, digits, spaces and `-_.` only."""
    kept = "".join(c if c.isalnum() or c in "-_." else " " for c in text)
    return " ".join(kept.split()) or "unnamed"


def _gantt(w: _Writer, generated_at: datetime) -> str:
    """A Mermaid gantt chart of the impact, the response phases and the severities, in the draft's zone."""
    m = w.m

    def at(dt: datetime) -> str:
        return f"{dt.astimezone(w.tz):%Y-%m-%d %H:%M:%S}"

    def bar(label: str, begin: datetime, end: datetime, tag: str = "") -> str | None:
        if end <= begin:
            return None
        return f"    {label} :{tag}{at(begin)}, {at(end)}"

    impact: list[str | None] = []
    if m.start is not None:
        end = impact_end(m)
        label = "Outage" if end is not None else "Outage ongoing"
        impact.append(bar(label, m.start, end or generated_at, "crit, "))
    # Each phase runs from one milestone to the next one reached, named after the one it ends at;
    # milestones out of order are skipped.
    points = [
        (m.impact_started_at, "Outage began"),
        (m.detected_at, "Until detected"),
        (m.declared_at, "Until declared"),
        (m.acknowledged_at, "Until acknowledged"),
        (m.mitigated_at, "Until mitigated"),
        (m.resolved_at, "Until resolved"),
    ]
    kept: list[tuple[datetime, str]] = []
    for dt, label in points:
        if dt is not None and (not kept or dt > kept[-1][0]):
            kept.append((dt, label))
    response = [bar(label, begin, end) for (begin, _), (end, label) in itertools.pairwise(kept)]
    if kept and m.resolved_at is None:
        response.append(bar("Open", kept[-1][0], generated_at, "active, "))
    history = w.severity_history()
    severity_end = m.resolved_at or m.closed_at or generated_at
    severities = [
        bar(
            _mermaid_label(code),
            begin,
            min(history[i + 1][0], severity_end) if i + 1 < len(history) else severity_end,
        )
        for i, (begin, code) in enumerate(history)
    ]
    lines = [
        "```mermaid",
        "gantt",
        f"    title INC-{w.snap.id} phases",
        "    dateFormat YYYY-MM-DD HH:mm:ss",
        "    axisFormat %m-%d %H:%M",
    ]
    for name, bars in (("Impact", impact), ("Response", response), ("Severity", severities)):
        present = [b for b in bars if b is not None]
        if present:
            lines.append(f"    section {name}")
            lines += present
    if len(lines) == 5:
        return _prompt("Not enough milestones were recorded to draw the phases.")
    return "\n".join([*lines, "```"])


@dataclass(frozen=True)
class _Line:
    """One line of the timeline: a milestone marker or an event."""

    at: datetime
    order: tuple[int, datetime, int]
    text: str


def _timeline(w: _Writer, generated_at: datetime) -> str:
    m = w.m
    markers = (
        (m.impact_started_at, "OUTAGE BEGINS"),
        (m.detected_at, "DETECTED"),
        (m.mitigated_at, "MITIGATED"),
        (m.resolved_at, "RESOLVED"),
        (m.impact_ended_at, "OUTAGE ENDS"),
    )
    lines = [
        _Line(at=dt, order=(0, dt, index), text=f"**{label}**")
        for index, (dt, label) in enumerate(markers)
        if dt is not None
    ]
    for index, event in enumerate(w.snap.timeline):
        text = f"{w.person(event.actor)}: " if event.actor else ""
        text += w.text(event.text) or _prompt("(no text)")
        if (event.recorded_at - event.at).total_seconds() >= _BACKDATED_SECONDS:
            text += f" _(recorded {format_local(event.recorded_at, w.tz)})_"
        if event.permalink and _SLACK_PERMALINK.fullmatch(event.permalink):
            text += f" <{event.permalink}>"
        lines.append(_Line(at=event.at, order=(1, event.recorded_at, index), text=text))
    lines.sort(key=lambda line: (line.at, line.order))
    zone = escape_markdown(w.tz.key)
    intro = (
        f"Times in {zone}, with UTC in brackets."
        if format_local(generated_at, w.tz) != format_local(generated_at, _UTC)
        else "Times in UTC."
    )
    body = [_gantt(w, generated_at), "", intro, ""]
    body += [f"- {w.when(line.at)} — {line.text}" for line in lines]
    if not lines:
        body.append(_prompt("Nothing was recorded on the timeline."))
    return "\n".join(body)


def _checklist_line(w: _Writer, item: ChecklistItemView) -> str:
    box = "[x]" if item.done else "[ ]"
    line = f"  - {box} {w.text(item.title)}"
    if item.required and not item.done:
        line += " _(required)_"
    if item.done and (item.done_by or item.done_at):
        who = w.person(item.done_by) if item.done_by else ""
        when = w.when(item.done_at) if item.done_at else ""
        line += " — " + ", ".join(part for part in (who, when) if part)
    return line


def _supporting(w: _Writer) -> str:
    snap = w.snap
    lines = ["**Responders and roles**", ""]
    lines.append(f"- Lead: {w.person(snap.lead) if snap.lead else _prompt('none assigned')}")
    for role, user_id in snap.roles:
        if role == "lead" and user_id == snap.lead:
            continue
        lines.append(f"- {escape_markdown(role[:1].upper() + role[1:])}: {w.person(user_id)}")
    if snap.declared_by:
        lines.append(f"- Declared by: {w.person(snap.declared_by)}")
    if snap.participants:
        lines.append(f"- Participants: {', '.join(w.person(p) for p in snap.participants)}")
    if snap.checklists:
        lines += ["", "**Checklists**", ""]
        playbooks = list(dict.fromkeys(item.playbook for item in snap.checklists))
        for playbook in playbooks:
            items = [item for item in snap.checklists if item.playbook == playbook]
            done = sum(item.done for item in items)
            lines.append(f"- {w.text(playbook)} ({done} of {len(items)} done)")
            lines += [_checklist_line(w, item) for item in items]
    return "\n".join(lines)


def render_postmortem(
    snap: IncidentSnapshot,
    *,
    tz: ZoneInfo,
    generated_at: datetime,
    names: Mapping[str, str] | None = None,
) -> str:
    """The postmortem draft of an incident as Markdown (deterministic for the same arguments)."""
    w = _Writer(snap, tz=tz, names=names or {})
    pm = _prompt
    parts = [
        _title(snap),
        _section("about", _about(w, generated_at)),
        "## Date",
        _section("date", _date(w)),
        "## Authors",
        pm(
            "Who wrote this postmortem? (Hashi cannot know; the responders are under Supporting information.)"
        ),
        "## Status",
        _section("status", _status(w, generated_at)),
        pm('Postmortem: draft. Change this to "Complete, action items in progress" once it is reviewed.'),
        "## Summary",
        _section("summary", _summary(w)),
        pm("In two or three sentences: what broke, for how long, for whom, and how it was fixed."),
        "## Impact",
        _section("impact", _impact(w, generated_at)),
        pm("Who was affected, and how much? Users, requests, revenue, data. (Hashi cannot know.)"),
        "## Root Causes",
        pm("Why did it happen? Keep asking why until you reach causes you can fix. (Hashi cannot know.)"),
        "## Trigger",
        pm("What set this off? (Hashi cannot know.)"),
        "## Resolution",
        _section("resolution", _resolution(w)),
        pm("What fixed it, and what is still temporary? (Hashi cannot know.)"),
        "## Detection",
        _section("detection", _detection(w)),
        pm("How did you find out: an alert, a customer, a colleague? Could you have known sooner?"),
        "## Action Items",
        _section("action-items", _action_items(w)),
        pm(
            "Hashi refreshes this table from the incident's follow-ups. To fill in Type (prevent, mitigate, "
            "detect, process) and Link, delete the two action-items comments around it first."
        ),
        "## Lessons Learned",
        "### What went well",
        pm("What helped? (Hashi cannot know.)"),
        "### What went wrong",
        pm("What made it worse or slower? (Hashi cannot know.)"),
        "### Where we got lucky",
        pm("What could have gone worse, and did not? (Hashi cannot know.)"),
        "## Timeline",
        _section("timeline", _timeline(w, generated_at)),
        pm("Add what happened outside Slack here, below Hashi's list."),
        "## Supporting information",
        _section("supporting", _supporting(w)),
        pm("Add links to dashboards, graphs, logs and documents. (Hashi cannot know.)"),
    ]
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class _Span:
    """One marked section: the text between its begin line and its end line."""

    name: str
    body_start: int
    body_end: int
    newline: str


def _marked_sections(text: str, *, what: str) -> list[_Span]:
    """The marked sections of a draft, in order; ValueError (naming the line) when the markers are broken."""
    spans: list[_Span] = []
    seen: set[str] = set()
    opened: tuple[str, int, int, str] | None = None  # name, line number, body start, newline
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        content = line.rstrip("\r\n")
        newline = line[len(content) :]
        line_start, offset = offset, offset + len(line)
        if not _MARKER_LIKE.search(content):
            continue
        found = _MARKER_LINE.fullmatch(content)
        if found is None:
            raise ValueError(
                f"{what}, line {number}: {content.strip()!r} looks like a Hashi marker but is not one; "
                "a marker is `<!-- hashi:begin NAME -->` or `<!-- hashi:end NAME -->` alone on its line"
            )
        name = found["name"]
        if found["edge"] == "begin":
            if opened is not None:
                raise ValueError(
                    f"{what}, line {number}: `hashi:begin {name}` inside `{opened[0]}`, which line "
                    f"{opened[1]} opened and nothing closed; add `<!-- hashi:end {opened[0]} -->` before it"
                )
            if name in seen:
                raise ValueError(f"{what}, line {number}: a second `hashi:begin {name}`; keep one of them")
            if not newline:
                raise ValueError(f"{what}, line {number}: `hashi:begin {name}` is never closed")
            opened = (name, number, offset, newline)
            seen.add(name)
        else:
            if opened is None:
                raise ValueError(f"{what}, line {number}: `hashi:end {name}` without a `hashi:begin {name}`")
            if opened[0] != name:
                raise ValueError(
                    f"{what}, line {number}: `hashi:end {name}` closes `hashi:begin {opened[0]}` "
                    f"from line {opened[1]}; the names must match"
                )
            spans.append(_Span(name=name, body_start=opened[2], body_end=line_start, newline=opened[3]))
            opened = None
    if opened is not None:
        raise ValueError(f"{what}, line {opened[1]}: `hashi:begin {opened[0]}` is never closed")
    return spans


def update_postmortem(existing: str, fresh: str) -> str:
    """Replaces each marked section of `existing` with the one in `fresh`, keeping every other byte.

    A section the existing draft no longer has (its author deleted it) stays deleted; a section the fresh
    draft lacks is left as it was.
    """
    current = _marked_sections(existing, what="the existing draft")
    bodies = {
        span.name: fresh[span.body_start : span.body_end]
        for span in _marked_sections(fresh, what="the new draft")
    }
    pieces: list[str] = []
    last = 0
    for span in current:
        body = bodies.get(span.name)
        if body is None:
            continue
        if span.newline != "\n":
            body = body.replace("\n", span.newline)
        pieces += [existing[last : span.body_start], body]
        last = span.body_end
    pieces.append(existing[last:])
    return "".join(pieces)
