"""Reminders in Slack's scheduler: left there, taken out, and listed to reconcile."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.incidents.errors import ChatError
from bot.incidents.model import IncidentSnapshot
from bot.incidents.reminders import Reminder
from bot.slack.blocks.card import (
    reminder_text,
)
from bot.slack.webapi import MAX_LIST_PAGES, WebApi


class Scheduler(WebApi):
    """chat.scheduleMessage, chat.deleteScheduledMessage and chat.scheduledMessages.list."""

    async def schedule_reminder(self, *, incident: IncidentSnapshot, reminder: Reminder) -> str:
        """Leaves a reminder in Slack's scheduler (chat.scheduleMessage), so no timer lives in Hashi."""
        assert incident.channel_id is not None
        data = await self._call(
            "reminder",
            "chat.scheduleMessage",
            channel=incident.channel_id,
            post_at=int(reminder.post_at.timestamp()),
            text=reminder_text(incident, reminder, self.language),
        )
        return str(data["scheduled_message_id"])

    async def cancel_reminder(self, *, channel_id: str, scheduled_message_id: str) -> None:
        """Takes a reminder out of Slack's scheduler; one already posted or gone is fine."""
        try:
            await self._call(
                "reminder",
                "chat.deleteScheduledMessage",
                channel=channel_id,
                scheduled_message_id=scheduled_message_id,
            )
        except ChatError as exc:
            if exc.reason != "invalid_scheduled_message_id":
                raise

    async def scheduled_reminders(self, *, channel_id: str) -> list[tuple[str, datetime]]:
        """What waits in Slack's scheduler for a channel (chat.scheduledMessages.list, every page)."""
        found: list[tuple[str, datetime]] = []
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):
            data = await self._call(
                "reminder", "chat.scheduledMessages.list", channel=channel_id, limit=100, cursor=cursor
            )
            for message in data.get("scheduled_messages") or []:
                found.append((str(message["id"]), datetime.fromtimestamp(int(message["post_at"]), tz=UTC)))
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "") or None
            if cursor is None:
                break
        return found
