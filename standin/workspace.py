"""The stand-in's workspace: its state, set-up helpers for tests, ids and timestamps, shared checks."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from bot.slack.manifest import BOT_SCOPES
from standin.calls import Args, Failure, Fault, checked_blocks
from standin.limits import RateLimits
from standin.openid import OpenIdProvider
from standin.spec import ApiSpec
from standin.state import (
    JSON,
    MESSAGE_BLOCKS_MAX,
    MESSAGE_TEXT_MAX,
    ChannelState,
    RecordedCall,
    Rejection,
    ScheduledMessage,
    UploadedFile,
    UserGroupState,
    UserState,
    tz_details,
)

PERMALINK_HOST = "https://standin.slack.local"
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class Workspace:
    """A workspace's users, channels, messages, views and files, and the calls made to it."""

    def __init__(
        self,
        *,
        spec: ApiSpec | None,
        bot_token: str = "xoxb-standin",
        app_token: str = "xapp-standin",
        team_id: str = "T0HASHI",
        bot_user_id: str = "U0HASHIBOT",
        latency: float = 0.0,
        validate_responses: bool = False,
        rate_limits: RateLimits | bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        # Slack's wall clock (message timestamps, scheduled messages' times); `hashi demo` sets it back to
        # tell a story of three quarters of an hour in seconds, with the same clock as Hashi's.
        self._clock = clock
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team_name = "Hashi Stand-in"
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.app_id = "A" + team_id[1:]
        self.latency = latency
        self.validate_responses = validate_responses
        # Slack's per-method rate tiers; False turns them off (a test or benchmark that floods on purpose).
        self.rate_limits = (
            rate_limits if isinstance(rate_limits, RateLimits) else RateLimits(enabled=rate_limits)
        )
        # The scopes the bot token was granted; every answer to a bot token carries them (x-oauth-scopes).
        self.scopes: list[str] = list(BOT_SCOPES)

        self.calls: list[RecordedCall] = []
        self.rejections: list[Rejection] = []
        self.schema_problems: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0

        self.users: dict[str, UserState] = {}
        self.usergroups: dict[str, UserGroupState] = {}
        self.channels: dict[str, ChannelState] = {}
        self.scheduled: dict[str, ScheduledMessage] = {}
        self.ephemeral: dict[str, list[JSON]] = {}
        self.views: dict[str, JSON] = {}
        self.home_views: dict[str, JSON] = {}
        self.files: dict[str, UploadedFile] = {}
        self.responses: list[JSON] = []
        self.socket_acks: list[JSON] = []
        self.socket_connections = 0

        self._faults: list[Fault] = []
        self._ids: set[str] = set()
        self._last_ts_us = 0
        self._response_urls: dict[str, tuple[str, str]] = {}
        self._response_log: list[tuple[str, JSON]] = []
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self._pending_acks: dict[str, asyncio.Future[JSON]] = {}
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._started = int(self._clock())

        self.add_user(bot_user_id, name="hashi", real_name="Hashi", is_bot=True)
        # Sign in with Slack: register an app with self.openid.register_client(...).
        self.openid = OpenIdProvider(team_id=team_id, team_name=self.team_name, users=self.users)

    @property
    def port(self) -> int:
        """The port it listens on (after start)."""
        return self._port

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://{self._host}:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API root with its trailing slash, as AsyncWebClient(base_url=...) wants it."""
        return f"{self.base_url}/api/"

    # ----------------------------------------------------------------- set-up helpers for tests

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str | None = None,
        tz: str = "UTC",
        locale: str = "en-US",
        email: str | None = None,
        is_bot: bool = False,
        display_name: str | None = None,
    ) -> UserState:
        """Adds a workspace member (tz is an IANA zone such as Asia/Tokyo)."""
        tz_details(tz)  # fails early on an unknown zone
        user = UserState(
            id=user_id,
            name=name,
            real_name=real_name if real_name is not None else name,
            display_name=display_name if display_name is not None else name,
            tz=tz,
            locale=locale,
            email=email,
            is_bot=is_bot,
            updated=int(self._clock()),
        )
        self.users[user_id] = user
        self._ids.add(user_id)
        return user

    def add_usergroup(self, usergroup_id: str, handle: str, users: Iterable[str]) -> UserGroupState:
        """Adds a user group such as @oncall-db."""
        group = UserGroupState(id=usergroup_id, handle=handle, users=list(users))
        self.usergroups[usergroup_id] = group
        return group

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        members: Iterable[str] = (),
    ) -> ChannelState:
        """Adds an existing channel; the bot is in it only if listed in `members`."""
        channel = ChannelState(
            id=channel_id,
            name=name,
            is_private=is_private,
            created=int(self._clock()),
            creator=next(iter(members), ""),
            members=list(dict.fromkeys(members)),
        )
        self.channels[channel_id] = channel
        self._ids.add(channel_id)
        return channel

    def add_message(
        self,
        channel_id: str,
        *,
        text: str,
        user: str,
        thread_ts: str | None = None,
    ) -> JSON:
        """Adds a message someone else posted (for reactions, history and threads)."""
        channel = self.channels[channel_id]
        message: JSON = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": self._next_ts(),
            "team": self.team_id,
        }
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        self._append(channel, message)
        return message

    def calls_to(self, method: str) -> list[RecordedCall]:
        """The recorded calls of one method, oldest first."""
        return [call for call in self.calls if call.method == method]

    def response_url(self, team: str | None = None, channel: str = "") -> str:
        """A response_url to put in a slash command or interaction payload."""
        url_id = self._new_id("R")
        self._response_urls[url_id] = (team or self.team_id, channel)
        return f"{self.base_url}/responses/{url_id}"

    def responses_to(self, url: str) -> list[JSON]:
        """The bodies posted to one response_url."""
        return [body for posted_url, body in self._response_log if posted_url == url]

    def deliver_due_scheduled(self, now: float | None = None) -> list[JSON]:
        """Posts the scheduled messages whose time has come (each API call does this too)."""
        moment = self._clock() if now is None else now
        delivered = []
        for scheduled in sorted(self.scheduled.values(), key=lambda item: item.post_at):
            if scheduled.post_at > moment:
                continue
            del self.scheduled[scheduled.id]
            channel = self.channels.get(scheduled.channel_id)
            if channel is None:
                continue
            message = self._bot_message(text=scheduled.text, blocks=scheduled.blocks)
            if scheduled.thread_ts:
                message["thread_ts"] = scheduled.thread_ts
            self._append(channel, message)
            delivered.append(message)
        return delivered

    # ----------------------------------------------------------------- ids, clocks, messages

    def _new_id(self, prefix: str, length: int = 10) -> str:
        while True:
            candidate = prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def _next_ts(self) -> str:
        """A message timestamp, unique and increasing even within one microsecond."""
        self._last_ts_us = max(int(self._clock() * 1_000_000), self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _bot_profile(self) -> JSON:
        icon = f"{PERMALINK_HOST}/avatars/{self.bot_id}"
        return {
            "id": self.bot_id,
            "deleted": False,
            "name": "Hashi",
            "updated": self._started,
            "app_id": self.app_id,
            "icons": {
                "image_36": f"{icon}_36.png",
                "image_48": f"{icon}_48.png",
                "image_72": f"{icon}_72.png",
            },
            "team_id": self.team_id,
        }

    def _bot_message(self, *, text: str, blocks: list[Any] | None = None) -> JSON:
        message: JSON = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "ts": self._next_ts(),
            "team": self.team_id,
            "bot_profile": self._bot_profile(),
        }
        if blocks is not None:
            message["blocks"] = blocks
        return message

    def _append(self, channel: ChannelState, message: JSON) -> None:
        """Adds a message, keeping its thread parent's reply counters as Slack does."""
        channel.messages.append(message)
        thread_ts = message.get("thread_ts")
        if thread_ts is None or thread_ts == message["ts"]:
            return
        parent = channel.message(str(thread_ts))
        if parent is None:
            return
        message.setdefault("parent_user_id", parent.get("user", ""))
        replies = [m for m in channel.messages if m.get("thread_ts") == thread_ts and m is not parent]
        reply_users = list(dict.fromkeys(str(m.get("user", "")) for m in replies))
        parent.update(
            thread_ts=parent["ts"],
            reply_count=len(replies),
            reply_users=reply_users,
            reply_users_count=len(reply_users),
            latest_reply=message["ts"],
            is_locked=False,
            subscribed=False,
        )

    # ----------------------------------------------------------------- shared checks

    def _visible(self, channel_id: str) -> ChannelState:
        """The channel if the bot can see it (a private one only from inside)."""
        channel = self.channels.get(channel_id)
        if channel is None or (
            (channel.is_private or channel.is_im) and self.bot_user_id not in channel.members
        ):
            raise Failure("channel_not_found")
        return channel

    def _joined(self, channel_id: str, *, writable: bool = True) -> ChannelState:
        """The channel if the bot is in it (and, for writes, it is not archived)."""
        channel = self._visible(channel_id)
        if writable and channel.is_archived:
            raise Failure("is_archived")
        if self.bot_user_id not in channel.members:
            raise Failure("not_in_channel")
        return channel

    def _message(self, channel: ChannelState, ts: str) -> JSON:
        message = channel.message(ts)
        if message is None:
            raise Failure("message_not_found")
        return message

    @staticmethod
    def _blocks(args: Args, *, limit: int = MESSAGE_BLOCKS_MAX, pointer: str = "/blocks") -> list[Any] | None:
        """The blocks argument parsed and checked as Slack does, or None when absent."""
        if not args.has("blocks"):
            return None
        return checked_blocks(args.decoded("blocks", "invalid_blocks_format"), limit=limit, pointer=pointer)

    def _message_content(self, args: Args) -> tuple[str, list[Any] | None, list[Any] | None]:
        """(text, blocks, attachments), failing with no_text when a message would be empty."""
        text = args.text("text")
        blocks = self._blocks(args)
        attachments = args.decoded("attachments", "invalid_attachments") if args.has("attachments") else None
        if attachments is not None and not isinstance(attachments, list):
            raise Failure("invalid_attachments")
        if not text and not blocks and not attachments:
            raise Failure("no_text")
        if len(text) > MESSAGE_TEXT_MAX:
            raise Failure("msg_too_long")
        return text, blocks, attachments

    def _message_channel(self, reference: str) -> ChannelState:
        """A channel for chat.postMessage: an ID, a #name, or a user ID (the bot's DM with them)."""
        if reference in self.channels:
            return self.channels[reference]
        if reference in self.users and not self.users[reference].is_bot:
            return self._direct_message_channel(reference)
        name = reference.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        raise Failure("channel_not_found")

    def _direct_message_channel(self, user_id: str) -> ChannelState:
        for channel in self.channels.values():
            if channel.is_im and user_id in channel.members:
                return channel
        channel_id = self._new_id("D")
        channel = ChannelState(
            id=channel_id,
            name=user_id,
            is_im=True,
            created=int(self._clock()),
            members=[self.bot_user_id, user_id],
        )
        self.channels[channel_id] = channel
        return channel

    def _user(self, user_id: str) -> UserState:
        user = self.users.get(user_id)
        if user is None:
            raise Failure("user_not_found")
        return user

    @staticmethod
    def _page(items: list[Any], args: Args, *, default_limit: int = 100) -> tuple[list[Any], str]:
        """One page of `items` and the cursor of the next ("" at the end)."""
        limit = args.integer("limit", "invalid_limit") or default_limit
        offset = 0
        if args.text("cursor"):
            try:
                offset = int(base64.b64decode(args.text("cursor")).decode().removeprefix("offset:"))
            except ValueError:
                raise Failure("invalid_cursor") from None
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
        cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
        return page, cursor
