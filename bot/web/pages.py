"""What the pages show, worked out from the record: the incident list, an incident, reliability.

Every figure comes from the code `hashi stats` runs (bot/reports/stats_rows.py: rows_seen_by;
bot/reports/stats.py: compute_stats), and every incident from the service's visibility-checked reads
(bot/incidents/access.py).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from typing import TYPE_CHECKING, Literal

from bot.i18n import Lang, Msg, t
from bot.incidents.model import IncidentSnapshot, Milestone, Status, TimelineEntry
from bot.incidents.times import TimeParseError, format_duration, format_local, parse_duration
from bot.reports.metrics import METRICS, incident_metrics
from bot.reports.stats import ALL_GROUP, RowMeasures, compute_stats
from bot.web.charts import Bar, column_groups, horizontal_bars
from bot.web.gantt import gantt_svg, parse_gantt
from readmodel import OPEN_STATUSES
from readmodel.stats import StatsRow, collector_paused
from storage.statements import IncidentFilter

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

PAGE_SIZE = 50
WINDOWS = ("7d", "30d", "90d", "365d")
DEFAULT_WINDOW = "30d"
LONGEST_WINDOW = timedelta(days=3660)


class BadRequest(ValueError):
    """A filter the page cannot use; the message says what was wrong and what to write instead."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.key)
        self.message = message


@dataclass(frozen=True)
class ListQuery:
    """The incident list's filters as the address gives them (every value as typed, for the form)."""

    status: str = ""
    severity: str = ""
    type: str = ""
    service: str = ""
    window: str = ""
    text: str = ""
    page: int = 1

    @classmethod
    def of(cls, query: Mapping[str, str]) -> ListQuery:
        """The filters of a request's query string."""
        page_text = query.get("page", "1").strip() or "1"
        return cls(
            status=query.get("status", "").strip(),
            severity=query.get("severity", "").strip(),
            type=query.get("type", "").strip(),
            service=query.get("service", "").strip()[:200],
            window=query.get("window", "").strip(),
            text=query.get("q", "").strip()[:200],
            page=int(page_text) if page_text.isascii() and page_text.isdigit() and len(page_text) < 7 else 0,
        )

    def wanted(self, *, severities: Sequence[str], types: Sequence[str], now: datetime) -> IncidentFilter:
        """The storage filter, or BadRequest saying what to write instead."""
        if self.page < 1:
            raise BadRequest(Msg("web.error.page"))
        statuses: tuple[str, ...] = ()
        if self.status == "open":
            statuses = OPEN_STATUSES
        elif self.status:
            if self.status not in {s.value for s in Status}:
                raise BadRequest(Msg("web.error.status", text=self.status))
            statuses = (self.status,)
        severity = next((s for s in severities if s.lower() == self.severity.lower()), None)
        if self.severity and severity is None:
            raise BadRequest(Msg("web.error.severity", text=self.severity, known=", ".join(severities)))
        kind = next((k for k in types if k.casefold() == self.type.casefold()), None)
        if self.type and kind is None:
            raise BadRequest(Msg("web.error.type", text=self.type, known=", ".join(types)))
        since = None
        if self.window:
            since = now - window_of(self.window)
        return IncidentFilter(
            statuses=statuses,
            severities=(severity,) if severity else (),
            types=(kind,) if kind else (),
            service=self.service or None,
            started_since=since,
            text=self.text or None,
        )

    def link(self, **changes: object) -> str:
        """The address of this list with some filters changed (the pager's links)."""
        from urllib.parse import urlencode

        fields = {
            "status": self.status,
            "severity": self.severity,
            "type": self.type,
            "service": self.service,
            "window": self.window,
            "q": self.text,
            "page": self.page,
        }
        fields.update(changes)
        return "/incidents?" + urlencode({k: v for k, v in fields.items() if v not in ("", None, 1)})


def window_of(text: str) -> timedelta:
    """A window such as 30d or 12w, or BadRequest."""
    try:
        window = parse_duration(text)
    except TimeParseError:
        raise BadRequest(Msg("web.error.window", text=text)) from None
    if window > LONGEST_WINDOW:
        raise BadRequest(Msg("web.error.window", text=text))
    return window


@dataclass(frozen=True)
class Shown:
    """A time as the viewer reads it: in their zone, and in UTC."""

    local: str
    utc: str
    iso: str


def shown(dt: datetime | None, tz: tzinfo, lang: Lang) -> Shown | None:
    """A stored UTC time in the viewer's zone and in UTC."""
    if dt is None:
        return None
    return Shown(local=format_local(dt, tz, lang), utc=format_local(dt, UTC, lang), iso=dt.isoformat())


def plain_mentions(text: str) -> str:
    """Slack's `<@U1>` / `<#C1|name>` / `<https://x|label>` markup as readable text (escaped later)."""
    import re

    def one(found: re.Match[str]) -> str:
        inner = found.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0]).lstrip("@")
        return label or target

    return re.sub(r"<([^<>\s][^<>]*)>", one, text)


TIMELINE_PAGE = 200  # events per page of an incident's timeline (a long incident has thousands)


@dataclass(frozen=True)
class IncidentView:
    """Everything the incident page shows, worked out."""

    snap: IncidentSnapshot
    milestones: list[tuple[str, Shown | None]]
    metrics: list[tuple[str, str]]
    timeline: list[tuple[Shown | None, str, str | None, str]]
    # Which page of the timeline this is, of how many, and how many events there are in all.
    events_page: int
    events_pages: int
    events: int


def incident_view(
    snap: IncidentSnapshot,
    *,
    events: Sequence[TimelineEntry],
    total: int,
    events_page: int,
    tz: tzinfo,
    lang: Lang,
) -> IncidentView:
    """The incident page's content with one page of its timeline (`events`, of `total`)."""
    durations = incident_metrics(snap.milestones).as_dict()
    return IncidentView(
        snap=snap,
        milestones=[
            (t(f"web.milestone.{m.value}", lang), shown(getattr(snap.milestones, m.value), tz, lang))
            for m in Milestone
        ],
        metrics=[(t(f"metrics.{name}", lang), format_duration(durations[name], lang)) for name in METRICS],
        timeline=[(shown(e.at, tz, lang), e.kind, e.actor, plain_mentions(e.text_in(lang))) for e in events],
        events_page=events_page,
        events_pages=timeline_pages(total),
        events=total,
    )


def timeline_pages(total: int) -> int:
    """How many pages a timeline of `total` events takes."""
    return max(1, -(-total // TIMELINE_PAGE))


def _fence(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """A fenced block: the postmortem's Mermaid gantt drawn as SVG, anything else as code."""
    token = tokens[idx]
    if token.info.strip() == "mermaid":
        chart = parse_gantt(token.content)
        if chart is not None:
            return f'<figure class="diagram">{gantt_svg(chart)}</figure>\n'
    from markdown_it.renderer import RendererHTML

    return RendererHTML.fence(self, tokens, idx, options, env)


@cache
def _markdown() -> MarkdownIt:
    """The postmortem page's Markdown renderer, made for the first page shown (a server nobody browses does
    not load markdown-it)."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    renderer.add_render_rule("fence", _fence)
    return renderer


def markdown_html(text: str) -> str:
    """Markdown as HTML: raw HTML in it is shown as text, links only of safe kinds (markdown-it's rules)."""
    return str(_markdown().render(text))


# ----------------------------------------------------------------- reliability


@dataclass(frozen=True)
class Reliability:
    """The reliability page: availability per service against its SLO, budget left, time to acknowledge
    and to resolve per month (p50, p90), incidents per week by severity."""

    window: str
    count: int
    availability_svg: str | None
    budget_svg: str | None
    budget_rows: list[tuple[str, str, str, str, str]]
    acknowledge_svg: str
    resolve_svg: str
    weekly_svg: str


def _months(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """The calendar months (UTC) that [since, until) touches, each cut to the window."""
    out = []
    start = since
    while start < until:
        first = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = (first + timedelta(days=32)).replace(day=1)
        out.append((start, min(following, until)))
        start = following
    return out


def _weeks(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """Weeks from Monday 00:00 UTC that [since, until) touches, each cut to the window."""
    out = []
    start = since
    while start < until:
        monday = (start - timedelta(days=start.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        following = monday + timedelta(days=7)
        out.append((start, min(following, until)))
        start = following
    return out


def _started_in(
    rows: Sequence[StatsRow], starts: Sequence[int | None], periods: Sequence[tuple[datetime, datetime]]
) -> list[list[StatsRow]]:
    """The incidents whose start (`starts`, one per row) lies in each of consecutive periods (those
    compute_stats counts there)."""
    parts: list[list[StatsRow]] = [[] for _ in periods]
    if not periods:
        return []
    bounds = [int(a.timestamp() * 1_000_000) for a, _ in periods]
    end = int(periods[-1][1].timestamp() * 1_000_000)
    for row, start in zip(rows, starts, strict=True):
        if start is not None and bounds[0] <= start < end:
            parts[bisect.bisect_right(bounds, start) - 1].append(row)
    return parts


def _percent(value: float) -> str:
    return f"{value * 100:.3f}".rstrip("0").rstrip(".") + "%"


def reliability(
    rows: Sequence[StatsRow],
    *,
    since: datetime,
    now: datetime,
    window: str,
    slos: Mapping[str, float],
    severities: Sequence[str],
    lang: Lang,
) -> Reliability:
    """The reliability page's figures and charts: compute_stats over the window, its months and weeks."""
    months, weeks = _months(since, now), _weeks(since, now)
    # Each month's and week's figures: compute_stats over the incidents that started in it (picked out in
    # one pass, so a year of weeks costs one pass over the incidents, not fifty-two). Each incident's
    # durations, time at severity and data flags are worked out in the first compute_stats and read again by
    # the others; what they keep is dropped before the collector runs again (collector_paused).
    with collector_paused():
        measures = RowMeasures(now)
        report = compute_stats(rows, since=since, until=now, by=None, slos=slos, now=now, measures=measures)
        starts = [row.start_us for row in rows]  # each start worked out once, for months and weeks
        monthly = [
            compute_stats(part, since=a, until=b, by=None, slos={}, now=now, measures=measures).groups
            for (a, b), part in zip(months, _started_in(rows, starts, months), strict=True)
        ]
        weekly = [
            {
                g.name: g.count
                for g in compute_stats(
                    part, since=a, until=b, by="severity", slos={}, now=now, measures=measures
                ).groups
            }
            for (a, b), part in zip(weeks, _started_in(rows, starts, weeks), strict=True)
        ]
        del measures
    availability_svg = budget_svg = None
    budget_rows = []
    if report.services:
        lowest = min(min(s.availability, s.slo) for s in report.services)
        floor = max(0.0, math.floor(lowest * 100 - 0.5) / 100)
        availability_svg = horizontal_bars(
            [Bar(s.service, s.availability, target=s.slo) for s in report.services],
            title=t("web.reliability.availability", lang),
            low=floor,
            high=1.0,
            shown=_percent,
        )
        budget_svg = horizontal_bars(
            [Bar(s.service, max(0.0, 1 - s.error_budget_used)) for s in report.services],
            title=t("web.reliability.budget", lang),
            low=0.0,
            high=1.0,
            shown=lambda v: f"{v * 100:.0f}%",
        )
        budget_rows = [
            (
                s.service,
                _percent(s.slo),
                _percent(s.availability),
                format_duration(s.impact_seconds, lang),
                f"{max(0.0, 1 - s.error_budget_used) * 100:.0f}%",
            )
            for s in report.services
        ]

    month_names = [f"{a:%Y-%m}" for a, _ in months]

    def per_month(metric: str, key: Literal["p50", "p90"]) -> list[float | None]:
        values: list[float | None] = []
        for groups in monthly:
            group = next((g for g in groups if g.name == ALL_GROUP), None)
            values.append(getattr(group.metric(metric), key) if group is not None else None)
        return values

    def hours(value: float) -> str:
        return format_duration(value, lang)

    acknowledge_svg, resolve_svg = (
        column_groups(
            month_names,
            [("p50", per_month(metric, "p50")), ("p90", per_month(metric, "p90"))],
            title=t(f"metrics.{metric}", lang),
            shown=hours,
            durations=True,
        )
        for metric in ("time_to_acknowledge", "time_to_resolve")
    )
    named = list(severities) + sorted({n for w in weekly for n in w} - set(severities))
    weekly_svg = column_groups(
        [f"{a:%m-%d}" for a, _ in weeks],
        [(code, [float(w.get(code, 0)) for w in weekly]) for code in named],
        title=t("web.reliability.weekly", lang),
        shown=lambda v: f"{v:.0f}",
        stacked=True,
    )
    return Reliability(
        window=window,
        count=report.count,
        availability_svg=availability_svg,
        budget_svg=budget_svg,
        budget_rows=budget_rows,
        acknowledge_svg=acknowledge_svg,
        resolve_svg=resolve_svg,
        weekly_svg=weekly_svg,
    )
