"""Test doubles for the incident service's ports: a recording Chat and a fixed Clock."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.incidents.errors import ChatError
from bot.incidents.model import IncidentSnapshot, TimelineEntry
from bot.incidents.ports import ChatMessage, Room
from bot.incidents.reminders import Reminder


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


@dataclass
class RecordingChat:
    """Records every Chat effect; `failing` names steps that raise ChatError (once each, or always)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failing: dict[str, int] = field(default_factory=dict)
    # What waits in the scheduler, as Slack would hold it: scheduled message id -> (channel, post_at).
    scheduled: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    # Who is in each channel, as Slack would say.
    members: dict[str, set[str]] = field(default_factory=dict)
    # The messages Slack holds, by (channel, ts).
    messages: dict[tuple[str, str], ChatMessage] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _record(self, step: str, **args: Any) -> None:
        remaining = self.failing.get(step, 0)
        if remaining:
            self.failing[step] = remaining - 1
            raise ChatError(step, "simulated failure")
        self.calls.append((step, args))

    def steps(self) -> list[str]:
        return [name for name, _ in self.calls]

    async def create_room(self, *, incident: IncidentSnapshot, name: str) -> Room:
        self._record("create_room", incident_id=incident.id, name=name, private=incident.private)
        return Room(channel_id=f"CINC{next(self._ids)}", name=name)

    async def invite(self, *, channel_id: str, user_ids: Sequence[str]) -> None:
        self._record("invite", channel_id=channel_id, user_ids=list(user_ids))

    async def set_topic(self, *, incident: IncidentSnapshot) -> None:
        self._record("set_topic", incident_id=incident.id)

    async def post_card(self, *, incident: IncidentSnapshot, look_first: bool = False) -> str:
        self._record("post_card", incident_id=incident.id, status=incident.status.value)
        return f"1700000000.{next(self._ids):06d}"

    async def pin(self, *, channel_id: str, ts: str) -> None:
        self._record("pin", channel_id=channel_id, ts=ts)

    async def announce(self, *, incident: IncidentSnapshot, look_first: bool = False) -> str:
        self._record("announce", incident_id=incident.id, private=incident.private)
        return f"1700000001.{next(self._ids):06d}"

    async def update_card(self, *, incident: IncidentSnapshot) -> None:
        self._record("update_card", incident_id=incident.id, status=incident.status.value)

    async def post_changes(self, *, incident: IncidentSnapshot, changes: Sequence[TimelineEntry]) -> None:
        for change in changes:  # one record a line, as the channel reads them
            self._record("post_change", incident_id=incident.id, kind=change.kind, text=change.text)

    async def post_checklist(self, *, incident: IncidentSnapshot, look_first: bool = False) -> str:
        self._record("post_checklist", incident_id=incident.id, items=len(incident.checklists))
        return f"1700000002.{next(self._ids):06d}"

    async def update_checklist(self, *, incident: IncidentSnapshot) -> None:
        done = [i.key for i in incident.checklists if i.done]
        self._record("update_checklist", incident_id=incident.id, done=done)

    async def schedule_reminder(self, *, incident: IncidentSnapshot, reminder: Reminder) -> str:
        self._record(
            "schedule_reminder", incident_id=incident.id, reason=reminder.reason, post_at=reminder.post_at
        )
        message_id = f"Q{next(self._ids):08d}"
        self.scheduled[message_id] = (incident.channel_id or "", reminder.post_at)
        return message_id

    async def cancel_reminder(self, *, channel_id: str, scheduled_message_id: str) -> None:
        self._record("cancel_reminder", channel_id=channel_id, scheduled_message_id=scheduled_message_id)
        self.scheduled.pop(scheduled_message_id, None)

    async def channel_members(self, *, channel_id: str) -> frozenset[str]:
        self._record("channel_members", channel_id=channel_id)
        return frozenset(self.members.get(channel_id, ()))

    async def scheduled_reminders(self, *, channel_id: str) -> list[tuple[str, datetime]]:
        self._record("scheduled_reminders", channel_id=channel_id)
        return [(key, at) for key, (channel, at) in self.scheduled.items() if channel == channel_id]

    async def message(self, *, channel_id: str, ts: str) -> ChatMessage | None:
        self._record("message", channel_id=channel_id, ts=ts)
        return self.messages.get((channel_id, ts))

    async def permalink(self, *, channel_id: str, ts: str) -> str | None:
        self._record("permalink", channel_id=channel_id, ts=ts)
        return f"https://hashi.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
