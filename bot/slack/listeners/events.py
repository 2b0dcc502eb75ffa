"""Events: pins and reactions add messages to the timeline (once), edits and deletions follow, joins count."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.incidents.errors import ChatError
from bot.slack.listeners.context import Deps
from bot.slack.listeners.replies import home_page
from bot.slack.parse import clipped
from bot.slack.payloads import MessageRef, chat_message, is_slack_id

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Adds the event listeners."""

    @deps.inbox.listen(app.event, "pin_added")
    async def pin_added(event: dict[str, Any]) -> None:
        item = _dict(event.get("item"))
        message = _dict(item.get("message"))
        if item.get("type") != "message" or not message:
            return
        pinned = MessageRef.decode(event.get("channel_id") or item.get("channel"), message.get("ts"))
        if pinned is None:
            return
        await deps.turns.after_ack()
        await deps.service.capture_message(
            channel_id=pinned.channel_id, ts=pinned.ts, at=pinned.at, message=chat_message(message)
        )

    @deps.inbox.listen(app.event, "pin_removed")
    async def pin_removed(event: dict[str, Any]) -> None:
        item = _dict(event.get("item"))
        message = _dict(item.get("message"))
        unpinned = MessageRef.decode(event.get("channel_id") or item.get("channel"), message.get("ts"))
        if unpinned is not None:
            await deps.turns.after_ack()
            await deps.service.follow_message(channel_id=unpinned.channel_id, ts=unpinned.ts, deleted=True)

    @deps.inbox.listen(app.event, "reaction_added")
    async def reaction_added(event: dict[str, Any]) -> None:
        item = _dict(event.get("item"))
        if event.get("reaction") != deps.settings.team.timeline_emoji or item.get("type") != "message":
            return
        marked = MessageRef.decode(item.get("channel"), item.get("ts"))
        if marked is None:
            return
        await deps.turns.after_ack()
        await deps.service.capture_message(
            channel_id=marked.channel_id, ts=marked.ts, at=marked.at, message=None
        )

    @deps.inbox.listen(app.event, "reaction_removed")
    async def reaction_removed(event: dict[str, Any]) -> None:
        item = _dict(event.get("item"))
        if event.get("reaction") != deps.settings.team.timeline_emoji or item.get("type") != "message":
            return
        unmarked = MessageRef.decode(item.get("channel"), item.get("ts"))
        if unmarked is None:
            return
        await deps.turns.after_ack()
        await deps.service.follow_message(channel_id=unmarked.channel_id, ts=unmarked.ts, deleted=True)

    @deps.inbox.listen(app.event, {"type": "message", "subtype": "message_changed"})
    async def message_changed(event: dict[str, Any]) -> None:
        message = _dict(event.get("message"))
        # Slack gives the edited message's ts in `message`, or only in `previous_message` (bolt-python's own
        # message_changed fixture has it there alone); the event's own ts is the edit's, not the message's.
        ts = message.get("ts") or _dict(event.get("previous_message")).get("ts")
        edited, text = MessageRef.decode(event.get("channel"), ts), message.get("text")
        if edited is None or not isinstance(text, str) or not text.strip():
            return
        await deps.turns.after_ack()  # before the lookup, so the one budget covers all of this event's work
        await deps.service.follow_message(channel_id=edited.channel_id, ts=edited.ts, text=clipped(text))

    @deps.inbox.listen(app.event, {"type": "message", "subtype": "message_deleted"})
    async def message_deleted(event: dict[str, Any]) -> None:
        ts = event.get("deleted_ts") or _dict(event.get("previous_message")).get("ts")
        deleted = MessageRef.decode(event.get("channel"), ts)
        if deleted is not None:
            await deps.turns.after_ack()
            await deps.service.follow_message(channel_id=deleted.channel_id, ts=deleted.ts, deleted=True)

    @app.event("message")
    async def message_posted() -> None:
        """Plain messages are not captured; pins and the timeline emoji choose what matters."""

    @deps.inbox.listen(app.event, "member_joined_channel")
    async def member_joined(event: dict[str, Any]) -> None:
        user_id, channel_id = event.get("user"), event.get("channel")
        if is_slack_id(user_id) and is_slack_id(channel_id):
            await deps.turns.after_ack()
            await deps.service.record_participant(channel_id=str(channel_id), user_id=str(user_id))

    @deps.inbox.listen(app.event, "member_left_channel")
    async def member_left(event: dict[str, Any]) -> None:
        user_id, channel_id = event.get("user"), event.get("channel")
        if is_slack_id(user_id) and is_slack_id(channel_id):
            await deps.turns.after_ack()
            await deps.service.record_departure(channel_id=str(channel_id), user_id=str(user_id))

    @deps.inbox.listen(app.event, "app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        user_id = event.get("user")
        if event.get("tab", "home") != "home" or not is_slack_id(user_id):
            return
        await deps.turns.after_ack()
        try:
            lang = await deps.user_language(str(user_id))
            await home_page(deps, user_id=str(user_id), number=1, lang=lang)
        except ChatError as exc:  # e.g. a user Slack no longer knows
            log.info("could not publish App Home for %s: %s", user_id, exc.reason)


def _dict(value: Any) -> dict[str, Any]:
    """A payload field that should be an object, or {} when it is missing or is not one."""
    return value if isinstance(value, dict) else {}
