"""The postmortem draft: Markdown shaped like the SRE book's example, laid out by a template (the team's own
or the one Hashi ships), safe to refresh around human edits (bot/reports/postmortem_markers.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import DEFAULT_LANG, Lang, postmortem_template, t
from bot.incidents.fields import RecordShape
from bot.incidents.model import IncidentSnapshot
from bot.reports.postmortem_markers import marked
from bot.reports.postmortem_sections import (
    about_section,
    action_items_section,
    date_section,
    detection_section,
    impact_section,
    resolution_section,
    status_section,
    summary_section,
    supporting_section,
    title_section,
)
from bot.reports.postmortem_timeline import timeline_section
from bot.reports.postmortem_writer import Writer

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
    w = Writer(snap, tz=tz, names=names or {}, lang=lang, shape=shape)
    sections: dict[str, Callable[[], str]] = {
        "title": lambda: title_section(snap),
        "about": lambda: marked("about", about_section(w, generated_at)),
        "date": lambda: marked("date", date_section(w)),
        "status": lambda: marked("status", status_section(w, generated_at)),
        "summary": lambda: marked("summary", summary_section(w)),
        "impact": lambda: marked("impact", impact_section(w, generated_at)),
        "resolution": lambda: marked("resolution", resolution_section(w)),
        "detection": lambda: marked("detection", detection_section(w)),
        "action_items": lambda: marked("action-items", action_items_section(w)),
        "timeline": lambda: marked("timeline", timeline_section(w, generated_at)),
        "supporting": lambda: marked("supporting", supporting_section(w)),
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
