"""The postmortem's sections but the timeline, each written from one snapshot: title, about, date, status,
summary, impact (with the recovery-time metrics), resolution, detection, action items, supporting
information."""

from __future__ import annotations

import re
from datetime import datetime

from bot.i18n import t
from bot.incidents.escaping import (
    escape_markdown,
    escape_markdown_cell,
    escape_markdown_heading,
    markdown_link,
)
from bot.incidents.fields import ordered_fields, shown_value
from bot.incidents.model import DEFAULT_TYPE, ChecklistItemView, EventKind, IncidentSnapshot
from bot.reports.metrics import incident_metrics, metric_label
from bot.reports.postmortem_markers import marked_line
from bot.reports.postmortem_writer import Writer, oldest_first
from readmodel.milestones import IMPACT_END_MILESTONES, START_MILESTONES

# How the metrics table names the milestone a duration runs from or to (`postmortem.point.*`).
_POINTS = {
    "impact_started_at": "outage_begins",
    "detected_at": "detected",
    "declared_at": "declared",
    "impact_ended_at": "impact_ends",
    "mitigated_at": "mitigated",
    "resolved_at": "resolved",
}


def title_section(snap: IncidentSnapshot) -> str:
    """The first heading, kept tight between its markers (a heading needs no blank lines)."""
    return marked_line("title", f"# INC-{snap.id}: {escape_markdown_heading(snap.title)}")


def about_section(w: Writer, generated_at: datetime) -> str:
    lines = []
    if w.snap.private:
        lines += [w.t("private_notice"), ""]
    lines.append(w.prompt("about", when=w.when(generated_at), id=w.snap.id))
    return "\n".join(lines)


def date_section(w: Writer) -> str:
    known = [dt for dt in w.m.as_dict().values() if dt is not None] + [e.at for e in w.snap.timeline]
    if not known:
        return w.prompt("no_times")
    first, last = (min(known).astimezone(w.tz).date(), max(known).astimezone(w.tz).date())
    days = w.day(first) if first == last else f"{w.day(first)} → {w.day(last)}"
    line = w.t("date_line", days=days, zone=escape_markdown(w.tz.key))
    if w.m.declared_at is not None:
        line += w.t("date_declared", when=w.when(w.m.declared_at))
    return line + w.t("full_stop")


def status_section(w: Writer, generated_at: datetime) -> str:
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


def summary_section(w: Writer) -> str:
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


def _metrics_table(w: Writer) -> str:
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


def impact_section(w: Writer, generated_at: datetime) -> str:
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


def resolution_section(w: Writer) -> str:
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
    moves = [e for e in oldest_first(w.snap.timeline) if e.kind in (EventKind.RESOLVED, EventKind.REOPENED)]
    if moves:
        lines.append(w.t("field_heading", name=w.t("label.resolutions")))
        for event in moves:
            actor = f"{w.person(event.actor)}: " if event.actor else ""
            lines.append(f"  - {w.when(event.at)} — {actor}{w.text(event.text_in(w.lang))}")
    return "\n".join(lines)


def detection_section(w: Writer) -> str:
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


def action_items_section(w: Writer) -> str:
    if not w.snap.followups:
        return w.prompt("no_followups")
    rows = [w.t("actions_header"), "|---|---|---|---|"]
    for item in w.snap.followups:
        action = w.cell(item.text) + (w.t("done_marker") if item.done else "")
        owner = escape_markdown_cell(w.names.get(item.owner) or item.owner) if item.owner else "—"
        link = markdown_link(item.ticket_key or item.url, item.url) if item.url else "—"
        rows.append(f"| {action} | — | {owner} | {link} |")
    return "\n".join(rows)


def _checklist_line(w: Writer, item: ChecklistItemView) -> str:
    box = "[x]" if item.done else "[ ]"
    line = f"  - {box} {w.text(item.title)}"
    if item.required and not item.done:
        line += " " + w.prompt("required")
    if item.done and (item.done_by or item.done_at):
        who = w.person(item.done_by) if item.done_by else ""
        when = w.when(item.done_at) if item.done_at else ""
        line += " — " + t("list.separator", w.lang).join(part for part in (who, when) if part)
    return line


def supporting_section(w: Writer) -> str:
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
