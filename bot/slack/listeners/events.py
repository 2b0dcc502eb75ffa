"""Events: pins and reactions add messages to the timeline (once), edits and deletions follow, joins count."""

from __future__ import annotations

import logging
from typing import Any

from bot.incidents.errors import ChatError
from bot.slack.listeners.context import Deps
from bot.slack.listeners.replies import home_page
from bot.slack.payloads import MessageRef, chat_message, is_slack_id
from bot.slack.text import clipped

log = logging.getLogger(__name__)


def _dict(value: Any) -> dict[str, Any]:
    """A payload field that should be an object, or {} when it is missing or is not one."""
    return value if isinstance(value, dict) else {}


async def pin_added(deps: Deps, event: dict[str, Any]) -> None:
    """A message pinned: it joins its room's incident's timeline (the event carries it)."""
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


async def pin_removed(deps: Deps, event: dict[str, Any]) -> None:
    """A message unpinned: it leaves the timeline."""
    item = _dict(event.get("item"))
    message = _dict(item.get("message"))
    unpinned = MessageRef.decode(event.get("channel_id") or item.get("channel"), message.get("ts"))
    if unpinned is not None:
        await deps.turns.after_ack()
        await deps.service.follow_message(channel_id=unpinned.channel_id, ts=unpinned.ts, deleted=True)


async def reaction_added(deps: Deps, event: dict[str, Any]) -> None:
    """A message marked with the timeline emoji: it joins the timeline (Slack is asked for it)."""
    item = _dict(event.get("item"))
    if event.get("reaction") != deps.settings.team.timeline_emoji or item.get("type") != "message":
        return
    marked = MessageRef.decode(item.get("channel"), item.get("ts"))
    if marked is None:
        return
    await deps.turns.after_ack()
    await deps.service.capture_message(channel_id=marked.channel_id, ts=marked.ts, at=marked.at, message=None)


async def reaction_removed(deps: Deps, event: dict[str, Any]) -> None:
    """The timeline emoji taken off a message: it leaves the timeline."""
    item = _dict(event.get("item"))
    if event.get("reaction") != deps.settings.team.timeline_emoji or item.get("type") != "message":
        return
    unmarked = MessageRef.decode(item.get("channel"), item.get("ts"))
    if unmarked is None:
        return
    await deps.turns.after_ack()
    await deps.service.follow_message(channel_id=unmarked.channel_id, ts=unmarked.ts, deleted=True)


async def message_changed(deps: Deps, event: dict[str, Any]) -> None:
    """A message edited in Slack: its timeline entry follows (when it is on one)."""
    message = _dict(event.get("message"))
    # Slack gives the edited message's ts in `message`, or only in `previous_message` (bolt-python's own
    # message_changed fixture has it there alone); the event's own ts is the edit's, not the message's.
    ts = message.get("ts") or _dict(event.get("previous_message")).get("ts")
    edited, text = MessageRef.decode(event.get("channel"), ts), message.get("text")
    if edited is None or not isinstance(text, str) or not text.strip():
        return
    await deps.turns.after_ack()  # before the lookup, so the one budget covers all of this event's work
    await deps.service.follow_message(channel_id=edited.channel_id, ts=edited.ts, text=clipped(text))


async def message_deleted(deps: Deps, event: dict[str, Any]) -> None:
    """A message deleted in Slack: it leaves the timeline."""
    ts = event.get("deleted_ts") or _dict(event.get("previous_message")).get("ts")
    deleted = MessageRef.decode(event.get("channel"), ts)
    if deleted is not None:
        await deps.turns.after_ack()
        await deps.service.follow_message(channel_id=deleted.channel_id, ts=deleted.ts, deleted=True)


async def message_posted() -> None:
    """Plain messages are not captured; pins and the timeline emoji choose what matters."""


async def member_joined(deps: Deps, event: dict[str, Any]) -> None:
    """Someone joined an incident's room: a participant."""
    user_id, channel_id = event.get("user"), event.get("channel")
    if is_slack_id(user_id) and is_slack_id(channel_id):
        await deps.turns.after_ack()
        await deps.service.record_participant(channel_id=channel_id, user_id=user_id)


async def member_left(deps: Deps, event: dict[str, Any]) -> None:
    """Someone left an incident's room."""
    user_id, channel_id = event.get("user"), event.get("channel")
    if is_slack_id(user_id) and is_slack_id(channel_id):
        await deps.turns.after_ack()
        await deps.service.record_departure(channel_id=channel_id, user_id=user_id)


async def home_opened(deps: Deps, event: dict[str, Any]) -> None:
    """App Home opened: its first page, published."""
    user_id = event.get("user")
    if event.get("tab", "home") != "home" or not is_slack_id(user_id):
        return
    await deps.turns.after_ack()
    try:
        lang = await deps.user_language(user_id)
        await home_page(deps, user_id=user_id, number=1, lang=lang)
    except ChatError as exc:  # e.g. a user Slack no longer knows
        log.info("could not publish App Home for %s: %s", user_id, exc.reason)
