"""SlackGateway: every Slack Web API call Hashi makes, intent-named; retries and rate limits live here."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError

from bot.i18n import t
from bot.incidents.errors import ChatError
from bot.incidents.model import EventKind, IncidentSnapshot, TimelineEntry
from bot.incidents.ports import ChatMessage, Room
from bot.slack.blocks.card import (
    announcement_blocks,
    card_blocks,
    card_text,
    change_text,
    topic_text,
)
from bot.slack.blocks.checklist import pinned_checklist_blocks
from bot.slack.blocks.messages import Message, text_messages
from bot.slack.blocks.mrkdwn import split_mrkdwn
from bot.slack.payloads import chat_message
from bot.slack.people import People
from bot.slack.scheduler import Scheduler
from bot.slack.webapi import MAX_LIST_PAGES, slack_error

log = logging.getLogger(__name__)

# Changes that alter what the channel topic shows.
_TOPIC_KINDS = {
    EventKind.SEVERITY.value,
    EventKind.STATUS.value,
    EventKind.LEAD.value,
    EventKind.RESOLVED.value,
    EventKind.REOPENED.value,
    EventKind.CLOSED.value,
}
# Characters of change lines in one message: Slack truncates a message's text past 40,000 and advises
# keeping it under 4,000; a line is at most ~3,000 (change_text), so each message holds one or more.
MESSAGE_TEXT_LIMIT = 3900


class SlackGateway(People, Scheduler):
    """The Chat port over Slack's Web API, plus the calls listeners need (modals, ephemerals, uploads)."""

    # Channels and rooms

    async def channel_info(self, *, channel_id: str) -> dict[str, Any]:
        """conversations.info of a channel."""
        data = await self._call("channel", "conversations.info", channel=channel_id)
        return dict(data.get("channel") or {})

    async def channel_members(self, *, channel_id: str) -> frozenset[str]:
        """Who is in a channel now, but the bot (conversations.members, every page)."""
        members: set[str] = set()
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):
            data = await self._call(
                "members", "conversations.members", channel=channel_id, limit=1000, cursor=cursor
            )
            members |= {str(user) for user in data.get("members") or []}
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "") or None
            if cursor is None:
                break
        return frozenset(members - {await self.bot_user_id()})

    async def create_room(self, *, incident: IncidentSnapshot, name: str) -> Room:
        """Creates the incident channel. When Slack refuses the name (a script or symbol it will not take in
        this workspace, a length) it tries the name's ASCII form, then `<prefix>-<id>`; on name_taken it first
        looks for a channel of that name Hashi itself created (an earlier attempt that timed out but took
        effect) and adopts it; else tries `-2`, `-3`, …"""
        names = list(dict.fromkeys([name, *plainer_channel_names(name, incident_id=incident.id)]))
        for base in names:
            try:
                return await self._create_named(incident=incident, name=base)
            except ChatError as exc:
                if exc.reason not in REFUSED_NAME or base == names[-1]:
                    raise
        raise AssertionError("unreachable: the last name's refusal is raised")

    async def _create_named(self, *, incident: IncidentSnapshot, name: str) -> Room:
        """conversations.create with `name`, or `name-2`, `name-3`, … when it is taken."""
        for attempt in range(1, 11):
            candidate = name if attempt == 1 else f"{name[: 80 - len(str(attempt)) - 1]}-{attempt}"
            try:
                data = await self._call(
                    "channel", "conversations.create", name=candidate, is_private=incident.private
                )
            except ChatError as exc:
                if exc.reason != "name_taken":
                    raise
                own = await self._own_channel(candidate)
                if own is not None:
                    return own
                continue
            channel = data.get("channel", {})
            return Room(channel_id=str(channel["id"]), name=str(channel.get("name", candidate)))
        raise ChatError("channel", f"every name like {name} is taken")

    async def _own_channel(self, name: str) -> Room | None:
        """The unarchived channel of that name, if the bot created it (conversations.list, a few pages)."""
        bot = await self.bot_user_id()
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):
            data = await self._call(
                "channel",
                "conversations.list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for channel in data.get("channels") or []:
                if channel.get("name") == name and channel.get("creator") == bot:
                    return Room(channel_id=str(channel["id"]), name=name)
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "") or None
            if cursor is None:
                return None
        return None

    async def invite(self, *, channel_id: str, user_ids: Sequence[str]) -> None:
        """Invites people (the bot itself and people already in are skipped)."""
        bot = await self.bot_user_id()
        users = [u for u in dict.fromkeys(user_ids) if u and u != bot]
        if not users:
            return
        try:
            await self._call("invite", "conversations.invite", channel=channel_id, users=",".join(users))
        except ChatError as exc:
            if exc.reason not in {"already_in_channel", "cant_invite_self"}:
                raise

    async def set_topic(self, *, incident: IncidentSnapshot) -> None:
        """Sets the channel topic and purpose."""
        assert incident.channel_id is not None
        purpose = t("slack.purpose", self.language, id=incident.id)
        await asyncio.gather(
            self._call(
                "topic",
                "conversations.setTopic",
                channel=incident.channel_id,
                topic=topic_text(incident, self.language),
            ),
            self._call("topic", "conversations.setPurpose", channel=incident.channel_id, purpose=purpose),
        )

    async def post_card(self, *, incident: IncidentSnapshot, look_first: bool = False) -> str:
        """Posts the incident card, unless (look_first) an earlier attempt's card is already there."""
        assert incident.channel_id is not None
        if look_first:
            found = await self._find_own_message(incident.channel_id, card_text(incident))
            if found:
                return found
        data = await self._call(
            "card",
            "chat.postMessage",
            channel=incident.channel_id,
            text=card_text(incident),
            blocks=card_blocks(
                incident,
                severities=self._severities,
                lang=self.language,
                shape=self._shape,
                public_url=self.public_url,
            ),
            unfurl_links=False,
        )
        return str(data["ts"])

    async def pin(self, *, channel_id: str, ts: str) -> None:
        """Pins the card."""
        try:
            await self._call("pin", "pins.add", channel=channel_id, timestamp=ts)
        except ChatError as exc:
            if exc.reason != "already_pinned":
                raise

    async def announce(self, *, incident: IncidentSnapshot, look_first: bool = False) -> str:
        """Announces a public incident in the announce channel (once: look_first finds an earlier one)."""
        if incident.private or not self._announce_channel:
            raise ChatError("announcement", "private incidents are never announced")
        if look_first:
            found = await self._find_own_message(self._announce_channel, card_text(incident))
            if found:
                return found
        data = await self._call(
            "announcement",
            "chat.postMessage",
            channel=self._announce_channel,
            text=card_text(incident),
            blocks=announcement_blocks(incident, self.language),
            unfurl_links=False,
        )
        return str(data["ts"])

    async def _find_own_message(self, channel_id: str, text: str) -> str | None:
        """The ts of a recent message of the bot's with exactly this fallback text."""
        bot = await self.bot_user_id()
        try:
            data = await self._call("history", "conversations.history", channel=channel_id, limit=200)
        except ChatError:
            return None  # cannot look (not a member): post, as a first attempt would
        for message in data.get("messages") or []:
            if message.get("user") == bot and message.get("text") == text:
                return str(message["ts"])
        return None

    async def update_card(self, *, incident: IncidentSnapshot) -> None:
        """Updates the pinned card in place."""
        if not incident.channel_id or not incident.card_ts:
            return
        await self._call(
            "card",
            "chat.update",
            channel=incident.channel_id,
            ts=incident.card_ts,
            text=card_text(incident),
            blocks=card_blocks(
                incident,
                severities=self._severities,
                lang=self.language,
                shape=self._shape,
                public_url=self.public_url,
            ),
        )

    async def post_changes(self, *, incident: IncidentSnapshot, changes: Sequence[TimelineEntry]) -> None:
        """Tells the channel of changes, a line each, in one message (more when they do not fit in one), and
        refreshes the topic once when they change what it shows."""
        assert incident.channel_id is not None
        channel = incident.channel_id
        lines = [change_text(incident, change, self.language) for change in changes]
        work = [
            self._call("update", "chat.postMessage", channel=channel, text=text, unfurl_links=False)
            for text in split_mrkdwn("\n".join(lines), limit=MESSAGE_TEXT_LIMIT)
        ]
        if any(change.kind in _TOPIC_KINDS for change in changes):
            work.append(
                self._call(
                    "topic",
                    "conversations.setTopic",
                    channel=channel,
                    topic=topic_text(incident, self.language),
                )
            )
        await asyncio.gather(*work)

    async def post_checklist(self, *, incident: IncidentSnapshot, look_first: bool = False) -> str:
        """Posts the checklists as checkbox groups, unless (look_first) an earlier attempt's are there."""
        assert incident.channel_id is not None
        text = t("slack.checklist.fallback", self.language, id=incident.id)
        if look_first:
            found = await self._find_own_message(incident.channel_id, text)
            if found:
                return found
        data = await self._call(
            "checklist",
            "chat.postMessage",
            channel=incident.channel_id,
            text=text,
            blocks=pinned_checklist_blocks(incident, self.language),
        )
        return str(data["ts"])

    async def update_checklist(self, *, incident: IncidentSnapshot) -> None:
        """Updates the checklist message so everyone sees the same ticks."""
        if not incident.channel_id or not incident.checklist_ts:
            return
        await self._call(
            "checklist",
            "chat.update",
            channel=incident.channel_id,
            ts=incident.checklist_ts,
            text=t("slack.checklist.fallback", self.language, id=incident.id),
            blocks=pinned_checklist_blocks(incident, self.language),
        )

    # Listener helpers

    async def open_modal(self, *, trigger_id: str, view: dict[str, Any]) -> None:
        """Opens a modal (the trigger is valid for 3 seconds: call this first)."""
        await self._call("modal", "views.open", trigger_id=trigger_id, view=view)

    async def publish_home(self, *, user_id: str, view: dict[str, Any]) -> None:
        """Publishes a user's App Home."""
        await self._call("home", "views.publish", user_id=user_id, view=view)

    async def post_ephemeral(
        self, *, channel_id: str, user_id: str, text: str, extra_blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Tells one user something in a channel, visible only to them (a long text in several messages)."""
        parts = [Message(text, extra_blocks)] if extra_blocks else text_messages(text)
        for part in parts:
            await self._call(
                "ephemeral",
                "chat.postEphemeral",
                channel=channel_id,
                user=user_id,
                text=part.text,
                blocks=part.blocks,
            )

    async def post_direct(
        self, *, user_id: str, text: str, extra_blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Tells a user something in their direct messages with Hashi (a long text in several messages)."""
        parts = [Message(text, extra_blocks)] if extra_blocks else text_messages(text)
        for part in parts:
            await self._call(
                "direct", "chat.postMessage", channel=user_id, text=part.text, blocks=part.blocks
            )

    async def permalink(self, *, channel_id: str, ts: str) -> str | None:
        """A message's permalink, or None when Slack will not say."""
        try:
            data = await self._call("permalink", "chat.getPermalink", channel=channel_id, message_ts=ts)
        except ChatError:
            return None
        return str(data.get("permalink")) if data.get("permalink") else None

    async def message(self, *, channel_id: str, ts: str) -> ChatMessage | None:
        """One message of a channel by its ts, or None when Slack will not say."""
        try:
            data = await self._call(
                "history", "conversations.history", channel=channel_id, latest=ts, inclusive=True, limit=1
            )
        except ChatError:
            return None
        messages = data.get("messages") or []
        return chat_message(messages[0]) if messages and messages[0].get("ts") == ts else None

    async def upload_markdown(
        self, *, channel_id: str, filename: str, title: str, content: str, comment: str
    ) -> None:
        """Uploads a Markdown file into a channel (files.getUploadURLExternal + completeUploadExternal)."""
        try:
            await self.client.files_upload_v2(
                channel=channel_id, filename=filename, title=title, content=content, initial_comment=comment
            )
        except SlackApiError as exc:
            raise ChatError("upload", slack_error(exc)) from exc
        except (ClientError, TimeoutError) as exc:
            raise ChatError("upload", f"{type(exc).__name__}: {exc}") from exc


# conversations.create's answers for a name it will not take (another name may do).
REFUSED_NAME = frozenset(
    {"invalid_name", "invalid_name_specials", "invalid_name_maxlength", "invalid_name_punctuation"}
)


def plainer_channel_names(name: str, *, incident_id: int) -> list[str]:
    """The names to try after Slack refused `<prefix>-<id>-<slug>`: its ASCII letters and digits alone, then
    `<prefix>-<id>` (`inc-1-決済apiのエラー率上昇` → `inc-1-api`, `inc-1`)."""
    found = re.match(rf"(.*?-{incident_id})(?:-|$)", name)
    head = found.group(1) if found else f"inc-{incident_id}"
    ascii_name = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]", "-", name.lower())).strip("-")[:80].rstrip("-")
    return [n for n in (ascii_name, head) if n]
