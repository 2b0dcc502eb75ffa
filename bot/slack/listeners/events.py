"""Events: pins and reactions add messages to the timeline (once), edits and deletions follow, joins count."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.incidents.model import EventKind
from bot.slack.listeners.context import Deps
from bot.slack.listeners.replies import home_page


def _message_time(ts: str) -> datetime:
    """A Slack message ts (`1700000000.000100`) as a UTC time."""
    return datetime.fromtimestamp(float(ts), tz=UTC)


def register(app: AsyncApp, deps: Deps) -> None:
    """Adds the event listeners."""

    async def first_delivery(body: dict[str, Any]) -> bool:
        """False for a delivery already handled (Slack's retries, or another replica)."""
        event_id = body.get("event_id")
        if not event_id:
            return True
        return await deps.service.claim_delivery(delivery_id=f"event:{event_id}", kind="event")

    async def capture(*, channel_id: str, ts: str, message: dict[str, Any] | None) -> None:
        """Adds one Slack message to its incident's timeline (a restored one comes back)."""
        incident_id = await deps.service.incident_for_channel(channel_id=channel_id)
        if incident_id is None:
            return
        if message is None:
            message = await deps.gateway.message(channel_id=channel_id, ts=ts)
        if message is None:
            return
        text = str(message.get("text") or "(no text)")
        permalink = await deps.gateway.permalink(channel_id=channel_id, ts=ts)
        added = await deps.service.add_note(
            incident_id=incident_id,
            text=text,
            actor=message.get("user"),
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
        incident_id = await deps.service.incident_for_channel(channel_id=channel_id)
        if incident_id is not None:
            await deps.service.update_slack_message(
                incident_id=incident_id, source_ref=ts, text=None, deleted=True
            )

    @app.event("pin_added")
    async def pin_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        message = item.get("message")
        if item.get("type") != "message" or not message or not await first_delivery(body):
            return
        channel_id = str(event.get("channel_id") or item.get("channel") or "")
        await capture(channel_id=channel_id, ts=str(message["ts"]), message=message)

    @app.event("pin_removed")
    async def pin_removed(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        message = item.get("message") or {}
        if message.get("ts") and await first_delivery(body):
            await forget(
                channel_id=str(event.get("channel_id") or item.get("channel") or ""), ts=str(message["ts"])
            )

    @app.event("reaction_added")
    async def reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if event.get("reaction") != deps.settings.team.timeline_emoji or item.get("type") != "message":
            return
        if await first_delivery(body):
            await capture(channel_id=str(item.get("channel")), ts=str(item.get("ts")), message=None)

    @app.event("reaction_removed")
    async def reaction_removed(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if event.get("reaction") != deps.settings.team.timeline_emoji or item.get("type") != "message":
            return
        if await first_delivery(body):
            await forget(channel_id=str(item.get("channel")), ts=str(item.get("ts")))

    @app.event({"type": "message", "subtype": "message_changed"})
    async def message_changed(body: dict[str, Any], event: dict[str, Any]) -> None:
        message = event.get("message") or {}
        incident_id = await deps.service.incident_for_channel(channel_id=str(event.get("channel")))
        if incident_id is not None and message.get("ts") and await first_delivery(body):
            await deps.service.update_slack_message(
                incident_id=incident_id, source_ref=str(message["ts"]), text=str(message.get("text") or "")
            )

    @app.event({"type": "message", "subtype": "message_deleted"})
    async def message_deleted(body: dict[str, Any], event: dict[str, Any]) -> None:
        ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
        if ts and await first_delivery(body):
            await forget(channel_id=str(event.get("channel")), ts=str(ts))

    @app.event("message")
    async def message_posted() -> None:
        """Plain messages are not captured; pins and the timeline emoji choose what matters."""

    @app.event("member_joined_channel")
    async def member_joined(body: dict[str, Any], event: dict[str, Any]) -> None:
        if await first_delivery(body):
            await deps.service.record_participant(
                channel_id=str(event.get("channel")), user_id=str(event.get("user"))
            )

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        await home_page(deps, user_id=str(event.get("user")), number=1)
