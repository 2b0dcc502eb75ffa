"""The Markdown the postmortem's sections write, one snapshot at a time: people's names, Slack mentions
unwrapped, user text escaped, times in the draft's zone and UTC, durations, the draft's texts in its
language."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.i18n import Lang, t
from bot.incidents.escaping import escape_markdown, escape_markdown_cell
from bot.incidents.fields import RecordShape
from bot.incidents.model import EventKind, IncidentSnapshot, Milestones, TimelineEntry
from bot.incidents.times import format_duration, format_local

UTC_ZONE = ZoneInfo("UTC")
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>|]*))?>")
_CHANNEL_MENTION = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^<>|]*))?>")


class Writer:
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
        local, utc = format_local(dt, self.tz, self.lang), format_local(dt, UTC_ZONE, self.lang)
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
        return [e for e in oldest_first(self.snap.timeline) if e.kind == kind.value]

    def start_label(self) -> str:
        """The `postmortem.since.*` key of the incident's start."""
        if self.m.impact_started_at is not None:
            return "outage"
        return "detection" if self.m.detected_at is not None else "declaration"


def oldest_first(timeline: Sequence[TimelineEntry]) -> list[TimelineEntry]:
    """Events oldest first by when they happened, then by when they were recorded (stable)."""
    return sorted(timeline, key=lambda e: (e.at, e.recorded_at))


def _prompt(text: str) -> str:
    """A note where only people can write."""
    return f"_{text}_"
