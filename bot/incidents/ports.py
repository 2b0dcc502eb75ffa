"""The ports the incident service needs: a chat surface and a clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.incidents.model import IncidentSnapshot, TimelineEntry
from bot.incidents.reminders import Reminder


class Clock(Protocol):
    """Tells the time; injected so tests fix it."""

    def now(self) -> datetime:
        """The current UTC-aware time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current UTC-aware time."""
        return datetime.now(UTC)


@dataclass(frozen=True)
class Room:
    """An incident's Slack channel."""

    channel_id: str
    name: str


@dataclass(frozen=True)
class ChatMessage:
    """A Slack message as the timeline keeps it: its text (within Hashi's limit; `(no text)` for a file or an
    emoji alone) and its author, when a person wrote it."""

    text: str
    author: str | None


class Directory(Protocol):
    """Who belongs to which Slack user group (for permission rules and invites that name one)."""

    async def groups_of(self, *, user_id: str, among: frozenset[str]) -> frozenset[str]:
        """The groups, of those asked about, that the user is in."""
        ...

    async def members_of(self, *, group_id: str) -> frozenset[str]:
        """The users in a group (raises ChatError when Slack cannot say)."""
        ...


class Chat(Protocol):
    """The Slack effects of incident changes, each one intent-named; raises ChatError when a step fails."""

    async def create_room(self, *, incident: IncidentSnapshot, name: str) -> Room:
        """Creates the incident channel (picking another name when this one is taken)."""
        ...

    async def invite(self, *, channel_id: str, user_ids: Sequence[str]) -> None:
        """Invites people into the channel (already-members are fine)."""
        ...

    async def set_topic(self, *, incident: IncidentSnapshot) -> None:
        """Sets the channel's topic and purpose from the incident."""
        ...

    async def post_card(self, *, incident: IncidentSnapshot, look_first: bool = False) -> str:
        """Posts the incident card (look_first: find one an earlier attempt posted); returns its ts."""
        ...

    async def pin(self, *, channel_id: str, ts: str) -> None:
        """Pins a message in the channel."""
        ...

    async def announce(self, *, incident: IncidentSnapshot, look_first: bool = False) -> str:
        """Announces a declaration (or, with look_first, finds an earlier announcement); returns its ts."""
        ...

    async def update_card(self, *, incident: IncidentSnapshot) -> None:
        """Updates the pinned card (and topic) in place."""
        ...

    async def post_changes(self, *, incident: IncidentSnapshot, changes: Sequence[TimelineEntry]) -> None:
        """Tells the incident channel of changes, a short line each, in as few messages as fit."""
        ...

    async def post_checklist(self, *, incident: IncidentSnapshot, look_first: bool = False) -> str:
        """Posts the incident's checklists (tickable) in its channel; returns the message ts."""
        ...

    async def update_checklist(self, *, incident: IncidentSnapshot) -> None:
        """Updates the posted checklist message in place."""
        ...

    async def schedule_reminder(self, *, incident: IncidentSnapshot, reminder: Reminder) -> str:
        """Leaves a reminder in Slack's scheduler; returns its scheduled message id."""
        ...

    async def cancel_reminder(self, *, channel_id: str, scheduled_message_id: str) -> None:
        """Takes a reminder out of Slack's scheduler (one already posted is fine)."""
        ...

    async def channel_members(self, *, channel_id: str) -> frozenset[str]:
        """Who is in a channel now, as Slack knows it (the bot itself left out)."""
        ...

    async def scheduled_reminders(self, *, channel_id: str) -> Sequence[tuple[str, datetime]]:
        """What waits in Slack's scheduler for a channel: (scheduled message id, when it posts)."""
        ...

    async def message(self, *, channel_id: str, ts: str) -> ChatMessage | None:
        """One message of a channel by its ts, or None when Slack will not say (gone, or out of reach)."""
        ...

    async def permalink(self, *, channel_id: str, ts: str) -> str | None:
        """A message's permalink, or None when Slack will not say."""
        ...


@dataclass(frozen=True)
class PageOrder:
    """One event for the pager: trigger, acknowledge or resolve the alert `dedup_key` (a trigger carries what
    the responder reads: summary, severity, component and details)."""

    action: str
    dedup_key: str
    summary: str = ""
    severity: str = "critical"  # critical, error, warning or info
    component: str | None = None
    details: dict[str, str] | None = None


class Pager(Protocol):
    """Pages people (PagerDuty's Events API); raises PagerError when the pager did not take the event."""

    async def send(self, order: PageOrder) -> None:
        """Sends one event."""
        ...

    async def close(self) -> None:
        """Releases its connections."""
        ...
