"""Stats windows as people write them (`30d`, `all`, `2026-07-01`, `2026-07-01..2026-10-01`), and the
calendar periods a trend is cut into (weeks, months, quarters in a time zone)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from bot.i18n import Msg
from bot.incidents.times import (
    EARLIEST,
    TimeParseError,
    format_local,
    normalise,
    parse_date,
    parse_duration,
    parse_time,
)

ALL = "all"
RANGE = ".."
WINDOW_FORMS = "30d, 12w, 5000d, all, 2026-07-01, 2026-07-01T09:00Z, 2026-07-01..2026-10-01"
# A window has no upper bound on its length: a span longer than the time since 1970 reaches back to 1970.
LONGEST = timedelta.max
_DATE_LIKE = re.compile(r"\d{4}[-/]|\d{1,2}:\d{2}")  # a date or a time of day, not a duration
Period = Literal["week", "month", "quarter"]
PERIODS: tuple[Period, ...] = ("week", "month", "quarter")


@dataclass(frozen=True)
class Window:
    """A stats window as asked: the `span` before its end, or from `since` (neither: from the first
    incident) to `until` (None: now)."""

    span: timedelta | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def from_first(self) -> bool:
        """Whether the window starts at the first incident recorded (`all`)."""
        return self.span is None and self.since is None

    def bounds(self, *, now: datetime, first: datetime | None = None) -> tuple[datetime, datetime]:
        """[since, until) in UTC: an end past now ends now; `first` is the first incident's start (`all`)."""
        until = now if self.until is None or self.until > now else self.until
        if self.since is not None:
            since = self.since
        elif self.span is not None:
            since = until - self.span if self.span < until - EARLIEST else EARLIEST
        else:
            # From the whole second of the first start: stats read starts rounded to the millisecond.
            since = (
                first.replace(microsecond=0) if first is not None and first < until else min(EARLIEST, until)
            )
        if since >= until:
            if self.since is not None and self.since >= now:
                raise TimeParseError(Msg("time.window_future"), forms=WINDOW_FORMS)
            raise TimeParseError(Msg("time.window_empty"), forms=WINDOW_FORMS)
        return since, until


def _edge(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """One end of a window: a date (its midnight in `tz`) or a time (`2026-07-01T09:00Z`)."""
    try:
        day = parse_date(text, tz=tz)
        return day if day is not None else parse_time(text, now=now, tz=tz, allow_future=True)
    except TimeParseError as exc:
        raise TimeParseError(exc.reason, forms=WINDOW_FORMS, recognized=exc.recognized) from exc


def parse_window(since: str, until: str | None = None, *, now: datetime, tz: ZoneInfo) -> Window:
    """Reads `--since` (a duration, `all`, a date or a time, or `<since>..<until>`) and `--until` (a date or
    a time); dates are midnights in `tz`. A window that ends before it starts is refused."""
    text = normalise(since)
    if RANGE in text:
        if until is not None:
            raise TimeParseError(Msg("time.window_until_twice"), forms=WINDOW_FORMS)
        text, _, until = text.partition(RANGE)
        if not text or not until.strip():
            raise TimeParseError(Msg("time.window_half", text=since.strip()[:40]), forms=WINDOW_FORMS)
    end = None if until is None else _edge(until, now=now, tz=tz)
    window: Window
    if text.lower() == ALL:
        window = Window(until=end)
    elif not text[:1].isdigit():
        raise TimeParseError(Msg("time.window_unreadable", text=f'"{text[:40]}"'), forms=WINDOW_FORMS)
    elif not _DATE_LIKE.match(text):
        try:
            window = Window(span=parse_duration(text, longest=LONGEST), until=end)
        except TimeParseError as exc:
            raise TimeParseError(exc.reason, forms=WINDOW_FORMS, recognized=exc.recognized) from exc
    else:
        window = Window(since=_edge(text, now=now, tz=tz), until=end)
    if window.since is not None and end is not None and end <= window.since:
        raise TimeParseError(
            Msg("time.window_backwards", since=format_local(window.since, tz), until=format_local(end, tz)),
            forms=WINDOW_FORMS,
            recognized=True,
        )
    return window


def period_start(at: datetime, every: Period, tz: tzinfo) -> datetime:
    """The start (UTC) of the calendar week (Monday), month or quarter in `tz` that holds `at`."""
    local = at.astimezone(tz)
    day = local.date()
    if every == "week":
        day -= timedelta(days=day.weekday())
    elif every == "month":
        day = day.replace(day=1)
    else:
        day = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _next_start(start: datetime, every: Period, tz: tzinfo) -> datetime:
    """The start (UTC) of the period after the one starting at `start`."""
    local = start.astimezone(tz)
    if every == "week":
        day = local.date() + timedelta(days=7)
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    months = 1 if every == "month" else 3
    month = local.month - 1 + months
    return datetime(local.year + month // 12, month % 12 + 1, 1, tzinfo=tz).astimezone(UTC)


def periods(
    since: datetime, until: datetime, every: Period, tz: tzinfo
) -> Iterator[tuple[str, datetime, datetime]]:
    """The calendar periods that cover [since, until): each one's name (`2026-W27`, `2026-07`, `2026-Q3`)
    and its bounds, the first and last cut to the window."""
    start = period_start(since, every, tz)
    while start < until:
        following = _next_start(start, every, tz)
        yield period_name(start, every, tz), max(start, since), min(following, until)
        start = following


def period_name(start: datetime, every: Period, tz: tzinfo) -> str:
    """`2026-W27` (ISO week), `2026-07` or `2026-Q3` for the period that starts at `start`."""
    local = start.astimezone(tz)
    if every == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if every == "month":
        return f"{local.year}-{local.month:02d}"
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
