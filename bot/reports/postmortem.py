"""The postmortem draft: Markdown shaped like the SRE book's example, safe to refresh around human edits."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import DEFAULT_LANG, Lang, postmortem_template, t
from bot.incidents.escaping import (
    escape_markdown,
    escape_markdown_cell,
    escape_markdown_heading,
    markdown_link,
)
from bot.incidents.fields import RecordShape, ordered_fields, shown_value
from bot.incidents.model import (
    DEFAULT_TYPE,
    ChecklistItemView,
    EventKind,
    IncidentSnapshot,
    Milestones,
    TimelineEntry,
)
from bot.incidents.times import format_duration, format_local
from bot.reports.metrics import incident_metrics, metric_label
from readmodel.milestones import IMPACT_END_MILESTONES, START_MILESTONES

_UTC = ZoneInfo("UTC")
# A timeline event recorded this long after it happened (a backdated note) shows when it was recorded.
_BACKDATED_SECONDS = 60
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>|]*))?>")
_CHANNEL_MENTION = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^<>|]*))?>")
# How the metrics table names the milestone a duration runs from or to (`postmortem.point.*`).
_POINTS = {
    "impact_started_at": "outage_begins",
    "detected_at": "detected",
    "declared_at": "declared",
    "impact_ended_at": "impact_ends",
    "mitigated_at": "mitigated",
    "resolved_at": "resolved",
}
# Only Slack's own message links become links in the draft.
_SLACK_PERMALINK = re.compile(
    r"https://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.slack\.com/archives/[A-Za-z0-9/_.?=&-]+"
)
_MARKER_LINE = re.compile(r"<!-- hashi:(?P<edge>begin|end) (?P<name>[a-z][a-z0-9-]*) -->[ \t]*")
# Anything that looks like it was meant to be a Hashi marker, so a mangled one is reported, not ignored.
_MARKER_LIKE = re.compile(r"<!--\s*/?\s*hashi\s*:", re.IGNORECASE)

# The sections of the draft, in order (the SRE book's example postmortem); their headings are in the
# catalogue under `postmortem.heading.<key>`.
SECTIONS: tuple[str, ...] = (
    "date",
    "authors",
    "status",
    "summary",
    "impact",
    "root_causes",
    "trigger",
    "resolution",
    "detection",
    "action_items",
    "lessons",
    "timeline",
    "supporting",
)
LESSONS: tuple[str, ...] = ("went_well", "went_wrong", "got_lucky")


def section_headings(lang: Lang) -> tuple[str, ...]:
    """The level-2 headings of the draft in a language, in order."""
    return tuple(t(f"postmortem.heading.{key}", lang) for key in SECTIONS)


def lessons_headings(lang: Lang) -> tuple[str, ...]:
    """The level-3 headings under Lessons Learned."""
    return tuple(t(f"postmortem.heading.{key}", lang) for key in LESSONS)


class _Writer:
    """Turns one snapshot into Markdown pieces; holds the zone, the language and the names for people."""

    def __init__(
        self,
        snap: IncidentSnapshot,
        *,
        tz: ZoneInfo,
        names: Mapping[str, str],
        lang: Lang,
        shape: RecordShape | None = None,
    ) -> None:
        self.snap = snap
        self.shape = shape
        self.tz = tz
        self.names = names
        self.lang = lang
        self.m: Milestones = snap.milestones

    def t(self, key: str, /, **params: object) -> str:
        """A postmortem text (`postmortem.<key>`) in the draft's language."""
        return t(f"postmortem.{key}", self.lang, **params)

    def prompt(self, key: str, /, **params: object) -> str:
        """A note where only people can write."""
        return _prompt(self.t(key, **params))

    def duration(self, seconds: float | None) -> str:
        return format_duration(seconds, self.lang)

    def after(self, later: datetime | None, earlier: datetime | None, what: str) -> str:
        """`, 5m after the outage began` when both are known (`what`: a `postmortem.since.*` key)."""
        if later is None or earlier is None:
            return ""
        took = self.duration((later - earlier).total_seconds())
        return self.t("after", took=took, what=self.t(f"since.{what}"))

    def person(self, user_id: str | None) -> str:
        """A user's display name (their id when unknown), escaped."""
        if not user_id:
            return self.t("nobody")
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

    def day(self, d: date) -> str:
        """`2026-11-24` (`2026年11月24日` in Japanese)."""
        return t("time.date", self.lang, year=d.year, month=d.month, day=d.day)

    def when(self, dt: datetime) -> str:
        """`2026-11-24 14:05 JST (2026-11-24 05:05 UTC)`, or the UTC time alone when the zone shows UTC."""
        local, utc = format_local(dt, self.tz, self.lang), format_local(dt, _UTC, self.lang)
        return utc if local == utc else self.t("local_and_utc", local=local, utc=utc)

    def local(self, dt: datetime) -> str:
        return format_local(dt, self.tz, self.lang)

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
        """The `postmortem.since.*` key of the incident's start."""
        if self.m.impact_started_at is not None:
            return "outage"
        return "detection" if self.m.detected_at is not None else "declaration"


def _ordered(timeline: Sequence[TimelineEntry]) -> list[TimelineEntry]:
    """Events oldest first by when they happened, then by when they were recorded (stable)."""
    return sorted(timeline, key=lambda e: (e.at, e.recorded_at))


def _section(name: str, body: str) -> str:
    """A part Hashi owns, between markers that update_postmortem recognises."""
    return f"<!-- hashi:begin {name} -->\n\n{body.strip()}\n\n<!-- hashi:end {name} -->"


def _title(snap: IncidentSnapshot) -> str:
    """The first heading, kept tight between its markers (a heading needs no blank lines)."""
    heading = f"# INC-{snap.id}: {escape_markdown_heading(snap.title)}"
    return f"<!-- hashi:begin title -->\n{heading}\n<!-- hashi:end title -->"


def _prompt(text: str) -> str:
    """A note where only people can write."""
    return f"_{text}_"


def _about(w: _Writer, generated_at: datetime) -> str:
    lines = []
    if w.snap.private:
        lines += [w.t("private_notice"), ""]
    lines.append(w.prompt("about", when=w.when(generated_at), id=w.snap.id))
    return "\n".join(lines)


def _date(w: _Writer) -> str:
    known = [dt for dt in w.m.as_dict().values() if dt is not None] + [e.at for e in w.snap.timeline]
    if not known:
        return w.prompt("no_times")
    first, last = (min(known).astimezone(w.tz).date(), max(known).astimezone(w.tz).date())
    days = w.day(first) if first == last else f"{w.day(first)} → {w.day(last)}"
    line = w.t("date_line", days=days, zone=escape_markdown(w.tz.key))
    if w.m.declared_at is not None:
        line += w.t("date_declared", when=w.when(w.m.declared_at))
    return line + w.t("full_stop")


def _status(w: _Writer, generated_at: datetime) -> str:
    snap = w.snap
    reopened = len(w.events(EventKind.REOPENED))
    line = w.t(
        "status_line",
        status=t(f"status_word.{snap.status.value}", w.lang),
        severity=escape_markdown(snap.severity),
        when=w.when(generated_at),
    )
    if reopened:
        line += w.t("reopened_times", count=reopened)
    return line


def _summary(w: _Writer) -> str:
    snap = w.snap
    paragraphs = [w.text(p) for p in re.split(r"\n\s*\n", snap.summary) if p.strip()]
    lines = ["\n\n".join(paragraphs) if paragraphs else w.prompt("no_summary"), ""]
    history = w.severity_history()
    severity = escape_markdown(snap.severity)
    if history and history[0][1] != snap.severity:
        severity += w.t("declared_as", severity=escape_markdown(history[0][1]))
    services = t("list.separator", w.lang).join(escape_markdown(s) for s in snap.services)
    lines += [
        w.t("field", name=w.t("label.severity"), value=severity),
        w.t("field", name=w.t("label.services"), value=services or w.prompt("none_recorded")),
        w.t(
            "field",
            name=w.t("label.lead"),
            value=w.person(snap.lead) if snap.lead else w.prompt("none_assigned"),
        ),
    ]
    if snap.channel_id:
        # Its name is what a reader can find in Slack; the id only when the name was never learned.
        shown = (
            f"#{escape_markdown(snap.channel_name)}"
            if snap.channel_name
            else escape_markdown(snap.channel_id)
        )
        lines.append(w.t("field", name=w.t("label.channel"), value=shown))
    if (w.shape is not None and len(w.shape.types) > 1) or snap.incident_type != DEFAULT_TYPE:
        lines.append(w.t("field", name=w.t("label.type"), value=escape_markdown(snap.incident_type)))
    rows = ordered_fields(w.shape.fields if w.shape else (), snap.fields)
    if rows:
        lines += ["", w.t("fields_header"), "|---|---|"]
        for name, spec, value in rows:
            label = spec.label(w.lang) if spec else name
            lines.append(f"| {w.cell(label)} | {w.cell(shown_value(spec, value))} |")
    return "\n".join(lines)


def _metrics_table(w: _Writer) -> str:
    m = w.m
    # The milestones the start and the impact's end stand for (readmodel.milestones), as durations take them.
    start_name = next((_POINTS[name] for name in START_MILESTONES if getattr(m, name) is not None), "start")
    end_name = next(
        (_POINTS[name] for name in IMPACT_END_MILESTONES if getattr(m, name) is not None), "impact_ends"
    )
    spans = {
        "time_to_detect": ("outage_begins", "detected"),
        "time_to_acknowledge": ("declared", "acknowledged"),
        "time_to_mitigate": (start_name, "mitigated"),
        "time_to_resolve": (start_name, "resolved"),
        "impact_duration": (start_name, end_name),
    }
    rows = [w.t("metrics_header"), "|---|---|---|---|"]
    for name, seconds in incident_metrics(m).as_dict().items():
        begin, end = (w.t(f"point.{p}") for p in spans[name])
        label = metric_label(name, w.lang)
        rows.append(f"| {label[:1].upper() + label[1:]} | {w.duration(seconds)} | {begin} | {end} |")
    return "\n".join(rows)


def _impact(w: _Writer, generated_at: datetime) -> str:
    m = w.m
    start, end = m.start, m.impact_end
    if start is None:
        window = w.prompt("not_recorded")
    elif end is None:
        ongoing = w.duration((generated_at - start).total_seconds())
        window = w.t("window_ongoing", start=w.when(start), now=w.when(generated_at), took=ongoing)
    else:
        took = w.duration(incident_metrics(m).impact_duration)
        window = w.t("window", start=w.when(start), end=w.when(end), took=took)
    services = t("list.separator", w.lang).join(escape_markdown(s) for s in w.snap.services)
    lines = [
        w.t("field", name=w.t("label.impact_window"), value=window),
        w.t("field", name=w.t("label.services_affected"), value=services or w.prompt("none_recorded")),
        w.t("field_heading", name=w.t("label.severity_history")),
    ]
    for index, (at, code) in enumerate(w.severity_history()):
        note = w.t("declared_marker") if index == 0 else ""
        lines.append(f"  - {w.when(at)}: {escape_markdown(code)}{note}")
    lines += ["", w.t("recovery_metrics"), "", _metrics_table(w)]
    return "\n".join(lines)


def _resolution(w: _Writer) -> str:
    m = w.m
    start = m.start
    mitigated = (
        f"{w.when(m.mitigated_at)}{w.after(m.mitigated_at, start, w.start_label())}"
        if m.mitigated_at is not None
        else w.prompt("not_recorded")
    )
    resolved = (
        f"{w.when(m.resolved_at)}{w.after(m.resolved_at, start, w.start_label())}"
        if m.resolved_at is not None
        else w.prompt("not_resolved")
    )
    lines = [
        w.t("field", name=w.t("label.mitigated"), value=mitigated),
        w.t("field", name=w.t("label.resolved"), value=resolved),
    ]
    moves = [e for e in _ordered(w.snap.timeline) if e.kind in (EventKind.RESOLVED, EventKind.REOPENED)]
    if moves:
        lines.append(w.t("field_heading", name=w.t("label.resolutions")))
        for event in moves:
            actor = f"{w.person(event.actor)}: " if event.actor else ""
            lines.append(f"  - {w.when(event.at)} — {actor}{w.text(event.text_in(w.lang))}")
    return "\n".join(lines)


def _detection(w: _Writer) -> str:
    m = w.m
    began = w.when(m.impact_started_at) if m.impact_started_at else w.prompt("not_recorded")
    detected = (
        f"{w.when(m.detected_at)}{w.after(m.detected_at, m.impact_started_at, 'outage')}"
        if m.detected_at
        else w.prompt("not_recorded")
    )
    declared = w.prompt("not_recorded")
    if m.declared_at is not None:
        by = w.t("by", person=w.person(w.snap.declared_by)) if w.snap.declared_by else ""
        declared = f"{w.when(m.declared_at)}{by}"
    acknowledged = (
        f"{w.when(m.acknowledged_at)}{w.after(m.acknowledged_at, m.declared_at, 'declaration')}"
        if m.acknowledged_at
        else w.prompt("not_recorded")
    )
    return "\n".join(
        [
            w.t("field", name=w.t("label.outage_began"), value=began),
            w.t("field", name=w.t("label.detected"), value=detected),
            w.t("field", name=w.t("label.declared"), value=declared),
            w.t("field", name=w.t("label.acknowledged"), value=acknowledged),
        ]
    )


def _action_items(w: _Writer) -> str:
    if not w.snap.followups:
        return w.prompt("no_followups")
    rows = [w.t("actions_header"), "|---|---|---|---|"]
    for item in w.snap.followups:
        action = w.cell(item.text) + (w.t("done_marker") if item.done else "")
        owner = escape_markdown_cell(w.names.get(item.owner) or item.owner) if item.owner else "—"
        link = markdown_link(item.ticket_key or item.url, item.url) if item.url else "—"
        rows.append(f"| {action} | — | {owner} | {link} |")
    return "\n".join(rows)


def _mermaid_label(text: str) -> str:
    """Text safe inside a Mermaid label: letters, digits, spaces and `-_.` only."""
    kept = "".join(c if c.isalnum() or c in "-_." else " " for c in text)
    return " ".join(kept.split()) or "unnamed"


def _gantt(w: _Writer, generated_at: datetime) -> str:
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


def _timeline(w: _Writer, generated_at: datetime) -> str:
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
    in_utc = format_local(generated_at, w.tz) == format_local(generated_at, _UTC)
    intro = w.t("times_in_utc") if in_utc else w.t("times_in_zone", zone=zone)
    body = [_gantt(w, generated_at), "", intro, ""]
    body += [f"- {w.when(line.at)} — {line.text}" for line in lines]
    if not lines:
        body.append(w.prompt("empty_timeline"))
    return "\n".join(body)


def _checklist_line(w: _Writer, item: ChecklistItemView) -> str:
    box = "[x]" if item.done else "[ ]"
    line = f"  - {box} {w.text(item.title)}"
    if item.required and not item.done:
        line += " " + w.prompt("required")
    if item.done and (item.done_by or item.done_at):
        who = w.person(item.done_by) if item.done_by else ""
        when = w.when(item.done_at) if item.done_at else ""
        line += " — " + t("list.separator", w.lang).join(part for part in (who, when) if part)
    return line


def _supporting(w: _Writer) -> str:
    snap = w.snap
    lines = [w.t("responders"), ""]
    lead = w.person(snap.lead) if snap.lead else w.prompt("none_assigned")
    lines.append(w.t("item", name=w.t("label.lead"), value=lead))
    for role, user_id in snap.roles:
        if role == "lead" and user_id == snap.lead:
            continue
        lines.append(w.t("item", name=escape_markdown(role[:1].upper() + role[1:]), value=w.person(user_id)))
    if snap.declared_by:
        lines.append(w.t("item", name=w.t("label.declared_by"), value=w.person(snap.declared_by)))
    if snap.participants:
        people = t("list.separator", w.lang).join(w.person(p) for p in snap.participants)
        lines.append(w.t("item", name=w.t("label.participants"), value=people))
    if snap.checklists:
        lines += ["", w.t("checklists"), ""]
        playbooks = list(dict.fromkeys(item.playbook for item in snap.checklists))
        for playbook in playbooks:
            items = [item for item in snap.checklists if item.playbook == playbook]
            done = sum(item.done for item in items)
            lines.append(w.t("playbook_progress", playbook=w.text(playbook), done=done, count=len(items)))
            lines += [_checklist_line(w, item) for item in items]
    return "\n".join(lines)


def render_postmortem(
    snap: IncidentSnapshot,
    *,
    tz: ZoneInfo,
    generated_at: datetime,
    names: Mapping[str, str] | None = None,
    lang: Lang = DEFAULT_LANG,
    template: str | None = None,
    shape: RecordShape | None = None,
) -> str:
    """The postmortem draft of an incident as Markdown in a language (the same arguments, the same text),
    laid out by a template (the team's own, else the one Hashi ships in that language); `shape` gives the
    custom fields' labels and order (and shows the type when the team has several)."""
    w = _Writer(snap, tz=tz, names=names or {}, lang=lang, shape=shape)
    sections: dict[str, Callable[[], str]] = {
        "title": lambda: _title(snap),
        "about": lambda: _section("about", _about(w, generated_at)),
        "date": lambda: _section("date", _date(w)),
        "status": lambda: _section("status", _status(w, generated_at)),
        "summary": lambda: _section("summary", _summary(w)),
        "impact": lambda: _section("impact", _impact(w, generated_at)),
        "resolution": lambda: _section("resolution", _resolution(w)),
        "detection": lambda: _section("detection", _detection(w)),
        "action_items": lambda: _section("action-items", _action_items(w)),
        "timeline": lambda: _section("timeline", _timeline(w, generated_at)),
        "supporting": lambda: _section("supporting", _supporting(w)),
    }

    def fill(found: re.Match[str]) -> str:
        name = found["name"]
        if name.startswith("ask."):
            return w.prompt(name)
        return sections[name]()

    text = shipped_template(lang) if template is None else template
    problems = template_problems(text)
    if problems:
        raise ValueError(problems[0])
    # One pass over the template: what the placeholders bring in (people's words) is never read again.
    return _PLACEHOLDER.sub(fill, text)


# A team's own postmortem template (`postmortem_template` in hashi.toml) is Markdown with these placeholders;
# the shipped ones (bot/i18n/postmortem.<lang>.md) give the SRE book's layout.
_PLACEHOLDER = re.compile(r"\{\{\s*(?P<name>[a-z_.]+)\s*\}\}")
_PLACEHOLDER_LIKE = re.compile(r"\{\{(?P<inside>.*?)\}\}")
SECTION_PLACEHOLDERS: tuple[str, ...] = (
    "title",
    "about",
    "date",
    "status",
    "summary",
    "impact",
    "resolution",
    "detection",
    "action_items",
    "timeline",
    "supporting",
)
# Every section but the date (Hashi's alone) and Lessons Learned (a heading over its three parts) asks people.
PROMPT_PLACEHOLDERS: tuple[str, ...] = tuple(
    f"ask.{key}" for key in (*SECTIONS, *LESSONS) if key not in ("date", "lessons")
)


def shipped_template(lang: Lang) -> str:
    """The postmortem template Hashi ships in a language (its Markdown, placeholders included)."""
    return postmortem_template(lang)


def template_problems(template: str) -> list[str]:
    """What is wrong with a postmortem template (each with its line): unknown placeholders, a section used
    twice (its markers would repeat, and `hashi export --update` could not tell them apart)."""
    known = {*SECTION_PLACEHOLDERS, *PROMPT_PLACEHOLDERS}
    listed = ", ".join(f"{{{{{name}}}}}" for name in (*SECTION_PLACEHOLDERS, *PROMPT_PLACEHOLDERS))
    problems = []
    seen: set[str] = set()
    for number, line in enumerate(template.splitlines(), start=1):
        for found in _PLACEHOLDER_LIKE.finditer(line):
            name = found["inside"].strip()
            if name not in known:
                problems.append(
                    f"line {number}: unknown placeholder {{{{{found['inside']}}}}}; known: {listed}"
                )
            elif name in SECTION_PLACEHOLDERS and name in seen:
                problems.append(f"line {number}: {{{{{name}}}}} a second time; keep one")
            seen.add(name)
    return problems


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


def without_markers(draft: str) -> str:
    """The draft without the lines of its section markers: for reading it (the web dashboard), not editing."""
    return "\n".join(line for line in draft.split("\n") if not _MARKER_LINE.fullmatch(line.rstrip("\r")))
