"""SlackGateway: every Slack Web API call Hashi makes, intent-named; retries and rate limits live here."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.i18n import DEFAULT_LANG, Lang, t
from bot.incidents.errors import ChatError
from bot.incidents.fields import RecordShape
from bot.incidents.model import EventKind, IncidentSnapshot, TimelineEntry
from bot.incidents.ports import ChatMessage, Room
from bot.incidents.reminders import Reminder
from bot.observability import SLACK_CALLS
from bot.slack.blocks.card import (
    announcement_blocks,
    card_blocks,
    card_text,
    change_text,
    reminder_text,
    topic_text,
)
from bot.slack.blocks.checklist import pinned_checklist_blocks
from bot.slack.blocks.messages import Message, text_messages
from bot.slack.blocks.mrkdwn import split_mrkdwn
from bot.slack.payloads import chat_message
from bot.slack.retries import retry_handlers

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
USER_CACHE_SECONDS = 600
# Characters of change lines in one message: Slack truncates a message's text past 40,000 and advises
# keeping it under 4,000; a line is at most ~3,000 (change_text), so each message holds one or more.
MESSAGE_TEXT_LIMIT = 3900
MAX_LIST_PAGES = 20


def slack_session(timeout: float) -> ClientSession:
    """One HTTP session for every Web API call, its connections kept open between calls: without it the
    SDK opens (and closes) a session and a TCP connection per call, a third of a declaration's CPU. Idle
    connections are closed after 10 s, well before a server would drop them. Call it in the event loop."""
    return ClientSession(
        timeout=ClientTimeout(total=timeout),
        connector=TCPConnector(limit=64, keepalive_timeout=10.0),
    )


def make_client(
    *, token: str, base_url: str, timeout: float = 10.0, session: ClientSession | None = None
) -> AsyncWebClient:
    """An AsyncWebClient with retries for 429 (Retry-After), `ratelimited`, 5xx, connection errors and
    timeouts of calls that are safe to repeat; `session` keeps its connections between calls."""
    client = AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,  # type: ignore[arg-type]
        session=session,
    )
    client.retry_handlers.extend(retry_handlers())
    return client


class SessionRespond(AsyncRespond):
    """Bolt's `respond()` (a message to a request's response_url) over the Web API calls' HTTP session: Bolt's
    own opens a session and a TCP connection for every answer, as much CPU as two Web API calls."""

    def __init__(self, *, response_url: str, session: ClientSession) -> None:
        super().__init__(response_url=response_url)
        self._session = session

    async def __call__(  # type: ignore[override]  # the same arguments, taken as Bolt's respond takes them
        self, text: str | dict[str, Any] = "", **fields: Any
    ) -> WebhookResponse:
        message = _build_message(text=text, **fields) if isinstance(text, str) else _build_message(**text)
        assert self.response_url is not None
        client = AsyncWebhookClient(url=self.response_url, session=self._session)
        return await client.send_dict(message)


@dataclass(frozen=True)
class UserProfile:
    """What Hashi needs to know about a Slack user."""

    user_id: str
    name: str
    tz: str | None
    locale: str | None


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code, or `http_<status>` for an answer that is not Slack's JSON (a proxy's 502 page,
    a 500 with a text body)."""
    data = exc.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{exc.response.status_code}"


class SlackGateway:
    """The Chat port over Slack's Web API, plus the calls listeners need (modals, ephemerals, uploads)."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        severities: Sequence[str],
        announce_channel: str | None = None,
        language: Lang = DEFAULT_LANG,
        public_url: str | None = None,
        shape: RecordShape | None = None,
    ) -> None:
        self.client = client
        # The web dashboard's address (HASHI_PUBLIC_URL): the card and App Home link to incidents' pages.
        self.public_url = public_url
        self._shape = shape  # the team's incident types and custom fields, shown on the card
        # The workspace language: what everything posted to a channel (cards, changes, reminders) is in.
        self.language = language
        self._severities = tuple(severities)
        self._announce_channel = announce_channel
        self._users: dict[str, tuple[float, UserProfile]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._bot_user_id: str | None = None
        self._team_id: str | None = None

    async def _call(
        self,
        step: str,
        method: str,
        *,
        app_credentials: tuple[str, str] | None = None,
        user_token: str | None = None,
        **args: Any,
    ) -> dict[str, Any]:
        """One Web API call; a Slack error or a network failure (after retries) becomes ChatError. It goes
        with the bot token, or the app's client id and secret (HTTP Basic), or a person's user token."""
        try:
            present = {k: v for k, v in args.items() if v is not None}
            if _as_json(method):
                response = await self.client.api_call(method, json=present)
            else:  # a form body, as Slack's docs show; booleans as Slack spells them
                form = {k: str(v).lower() if isinstance(v, bool) else v for k, v in present.items()}
                headers = None
                if app_credentials:  # HTTP Basic, as slack_sdk's own oauth methods send it
                    pair = f"{app_credentials[0]}:{app_credentials[1]}".encode()
                    headers = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
                elif user_token:
                    headers = {"Authorization": f"Bearer {user_token}"}
                response = await self.client.api_call(method, data=form, headers=headers)
        except SlackApiError as exc:
            SLACK_CALLS.labels(method=method, outcome="error").inc()
            error = slack_error(exc)
            log.info("Slack answered %s", error, extra={"slack_method": method})
            raise ChatError(step, error) from exc
        except (ClientError, TimeoutError) as exc:
            SLACK_CALLS.labels(method=method, outcome="unreachable").inc()
            log.warning("Slack unreachable: %s", type(exc).__name__, extra={"slack_method": method})
            raise ChatError(step, f"{type(exc).__name__}: {exc}", unknown=True) from exc
        SLACK_CALLS.labels(method=method, outcome="ok").inc()
        return dict(response.data) if isinstance(response.data, dict) else {}

    # Identity

    async def token_check(self) -> tuple[dict[str, Any], frozenset[str] | None]:
        """auth.test's answer and the scopes the token was granted (None when Slack does not say)."""
        try:
            response = await self.client.api_call("auth.test")
        except SlackApiError as exc:
            raise ChatError("auth", slack_error(exc)) from exc
        except (ClientError, TimeoutError) as exc:  # no answer: the network, not the token
            raise ChatError("auth", f"{type(exc).__name__}: {exc}", unknown=True) from exc
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        raw = headers.get("x-oauth-scopes")
        text = raw[0] if isinstance(raw, list) else raw
        scopes = frozenset(s.strip() for s in text.split(",") if s.strip()) if text is not None else None
        return dict(response.data) if isinstance(response.data, dict) else {}, scopes

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

    async def bot_user_id(self) -> str:
        """The bot's own user id (auth.test, once)."""
        if self._bot_user_id is None:
            data = await self._call("auth", "auth.test")
            self._bot_user_id = str(data.get("user_id", ""))
        return self._bot_user_id

    async def team_id(self) -> str:
        """The workspace the bot token belongs to (auth.test, once)."""
        if self._team_id is None:
            data = await self._call("auth", "auth.test")
            self._team_id = str(data.get("team_id", ""))
        return self._team_id

    # Sign in with Slack (the web dashboard)

    async def openid_token(
        self, *, code: str, redirect_uri: str, client_id: str, client_secret: str
    ) -> dict[str, Any]:
        """Exchanges a sign-in's code for the person's token and id_token (openid.connect.token)."""
        return await self._call(
            "sign-in",
            "openid.connect.token",
            app_credentials=(client_id, client_secret),
            code=code,
            redirect_uri=redirect_uri,
            grant_type="authorization_code",
        )

    async def openid_user_info(self, *, access_token: str) -> dict[str, Any]:
        """Who signed in: the claims of openid.connect.userInfo for their token."""
        return await self._call("sign-in", "openid.connect.userInfo", user_token=access_token)

    async def user_zone(self, user_id: str) -> str | None:
        """A person's Slack time zone (users.info, cached), or None when Slack does not say."""
        return (await self.user_profile(user_id)).tz

    async def user_profile(self, user_id: str) -> UserProfile:
        """A user's name, time zone and locale (users.info, cached for a few minutes)."""
        cached = self._users.get(user_id)
        if cached and time.monotonic() - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        try:
            data = await self._call("user", "users.info", user=user_id, include_locale=True)
        except ChatError:
            return UserProfile(user_id=user_id, name=user_id, tz=None, locale=None)
        user = data.get("user", {})
        profile = UserProfile(
            user_id=user_id,
            name=str(user.get("real_name") or user.get("name") or user_id),
            tz=user.get("tz"),
            locale=user.get("locale"),
        )
        self._users[user_id] = (time.monotonic(), profile)
        return profile

    async def groups_of(self, *, user_id: str, among: frozenset[str]) -> frozenset[str]:
        """The user groups, of those asked about, the user is in (usergroups.users.list, cached)."""
        found = set()
        for group in sorted(among):
            try:
                members = await self.members_of(group_id=group)
            except ChatError:
                continue  # an unknown group grants nothing
            if user_id in members:
                found.add(group)
        return frozenset(found)

    async def members_of(self, *, group_id: str) -> frozenset[str]:
        """The users in a user group (usergroups.users.list, cached for a few minutes)."""
        cached = self._groups.get(group_id)
        if cached is None or time.monotonic() - cached[0] > USER_CACHE_SECONDS:
            data = await self._call("usergroup", "usergroups.users.list", usergroup=group_id)
            cached = (time.monotonic(), frozenset(str(u) for u in data.get("users") or ()))
            self._groups[group_id] = cached
        return cached[1]

    # The Chat port

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

    async def post_direct(self, *, user_id: str, text: str) -> None:
        """Tells a user something in their direct messages with Hashi (a long text in several messages)."""
        for part in text_messages(text):
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


def _as_json(method: str) -> bool:
    """Methods slack_sdk itself posts as JSON (they carry blocks or views); the rest go form-encoded."""
    return method.startswith(("chat.", "views.")) and method != "chat.getPermalink"
