"""Events: pins and reactions add messages to the timeline (once), edits and deletions follow, joins count."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.incidents.errors import ChatError
from bot.incidents.model import EventKind
from bot.slack.listeners.context import Deps
from bot.slack.listeners.replies import home_page
from bot.slack.parse import clipped

log = logging.getLogger(__name__)
_TS = re.compile(r"^\d{9,11}\.\d{1,6}$")
_ID = re.compile(r"^[A-Z0-9]{2,32}$")


def _is_ts(value: Any) -> bool:
    """Whether a value is a Slack message timestamp (`1700000000.000100`)."""
    return isinstance(value, str) and bool(_TS.match(value))


def _is_id(value: Any) -> bool:
    """Whether a value looks like a Slack id (`U0123ABCD`, `C0123ABCD`)."""
    return isinstance(value, str) and bool(_ID.match(value))


def _message_time(ts: str) -> datetime:
    """A Slack message ts (`1700000000.000100`) as a UTC time."""
    return datetime.fromtimestamp(float(ts), tz=UTC)


def register(app: AsyncApp, deps: Deps) -> None:
    """Adds the event listeners."""

    async def capture(*, channel_id: str, ts: str, message: dict[str, Any] | None) -> None:
        """Adds one Slack message to its incident's timeline (a restored one comes back)."""
        if not _is_ts(ts) or not _is_id(channel_id):
            return
        incident_id = await deps.service.incident_for_channel(channel_id=channel_id)
        if incident_id is None:
            return
        if message is None:
            message = await deps.gateway.message(channel_id=channel_id, ts=ts)
        if message is None:
            return
        raw = message.get("text")
        text = clipped(raw) if isinstance(raw, str) and raw.strip() else "(no text)"  # a file or an emoji
        author = message.get("user")
        permalink = await deps.gateway.permalink(channel_id=channel_id, ts=ts)
        added = await deps.service.add_note(
            incident_id=incident_id,
            text=text,
            actor=author if _is_id(author) else None,
            at=_message_time(ts),
            kind=EventKind.SLACK_MESSAGE,
            source_ref=ts,
            permalink=permalink,
            announce=False,
        )
        if not added:
            await deps.service.update_slack_message(
                incident_id=incident_id, source_ref=ts, text=text, deleted=False
            )

    async def forget(*, channel_id: str, ts: str) -> None:
        if not _is_ts(ts) or not _is_id(channel_id):
            return
        incident_id = await deps.service.incident_for_channel(channel_id=channel_id)
        if incident_id is not None:
            await deps.service.update_slack_message(
                incident_id=incident_id, source_ref=ts, text=None, deleted=True
            )

    @deps.inbox.listen(app.event, "pin_added")
    async def pin_added(event: dict[str, Any]) -> None:
        item = _dict(event.get("item"))
        message = _dict(item.get("message"))
        if item.get("type") != "message" or not message:
            return
        await deps.turns.after_ack()
        channel_id = event.get("channel_id") or item.get("channel")
        await capture(channel_id=str(channel_id), ts=str(message.get("ts")), message=message)

    @deps.inbox.listen(app.event, "pin_removed")
    async def pin_removed(event: dict[str, Any]) -> None:
        item = _dict(event.get("item"))
        message = _dict(item.get("message"))
        if message.get("ts"):
            await deps.turns.after_ack()
            channel_id = event.get("channel_id") or item.get("channel")
            await forget(channel_id=str(channel_id), ts=str(message.get("ts")))

    @deps.inbox.listen(app.event, "reaction_added")
    async def reaction_added(event: dict[str, Any]) -> None:
        item = _dict(event.get("item"))
        if event.get("reaction") != deps.settings.team.timeline_emoji or item.get("type") != "message":
            return
        await deps.turns.after_ack()
        await capture(channel_id=str(item.get("channel")), ts=str(item.get("ts")), message=None)

    @deps.inbox.listen(app.event, "reaction_removed")
    async def reaction_removed(event: dict[str, Any]) -> None:
        item = _dict(event.get("item"))
        if event.get("reaction") != deps.settings.team.timeline_emoji or item.get("type") != "message":
            return
        await deps.turns.after_ack()
        await forget(channel_id=str(item.get("channel")), ts=str(item.get("ts")))

    @deps.inbox.listen(app.event, {"type": "message", "subtype": "message_changed"})
    async def message_changed(event: dict[str, Any]) -> None:
        message = _dict(event.get("message"))
        # Slack gives the edited message's ts in `message`, or only in `previous_message` (bolt-python's own
        # message_changed fixture has it there alone); the event's own ts is the edit's, not the message's.
        ts = message.get("ts") or _dict(event.get("previous_message")).get("ts")
        channel_id, text = event.get("channel"), message.get("text")
        if not (_is_id(channel_id) and _is_ts(ts) and isinstance(text, str) and text.strip()):
            return
        await deps.turns.after_ack()  # before the lookup, so the one budget covers all of this event's work
        incident_id = await deps.service.incident_for_channel(channel_id=str(channel_id))
        if incident_id is not None:
            await deps.service.update_slack_message(
                incident_id=incident_id, source_ref=str(ts), text=clipped(text)
            )

    @deps.inbox.listen(app.event, {"type": "message", "subtype": "message_deleted"})
    async def message_deleted(event: dict[str, Any]) -> None:
        ts = event.get("deleted_ts") or _dict(event.get("previous_message")).get("ts")
        if ts:
            await deps.turns.after_ack()
            await forget(channel_id=str(event.get("channel")), ts=str(ts))

    @app.event("message")
    async def message_posted() -> None:
        """Plain messages are not captured; pins and the timeline emoji choose what matters."""

    @deps.inbox.listen(app.event, "member_joined_channel")
    async def member_joined(event: dict[str, Any]) -> None:
        user_id, channel_id = event.get("user"), event.get("channel")
        if _is_id(user_id) and _is_id(channel_id):
            await deps.turns.after_ack()
            await deps.service.record_participant(channel_id=str(channel_id), user_id=str(user_id))

    @deps.inbox.listen(app.event, "member_left_channel")
    async def member_left(event: dict[str, Any]) -> None:
        user_id, channel_id = event.get("user"), event.get("channel")
        if _is_id(user_id) and _is_id(channel_id):
            await deps.turns.after_ack()
            await deps.service.record_departure(channel_id=str(channel_id), user_id=str(user_id))

    @deps.inbox.listen(app.event, "app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        user_id = event.get("user")
        if event.get("tab", "home") != "home" or not _is_id(user_id):
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
