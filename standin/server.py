"""A local stand-in for Slack's Web API, Socket Mode and response URLs, served over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import mimetypes
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

from bot.slack.manifest import BOT_SCOPES
from standin.limits import RateLimits
from standin.openid import OpenIdError, OpenIdProvider
from standin.spec import ARGUMENT_ALTERNATIVES, ApiSpec
from standin.state import (
    JSON,
    MESSAGE_BLOCKS_MAX,
    MESSAGE_TEXT_MAX,
    RESPONSE_URL_USES,
    SCHEDULE_HORIZON_SECONDS,
    SCHEDULE_WINDOW_MAX,
    SCHEDULE_WINDOW_SECONDS,
    TOPIC_MAX,
    VIEW_BLOCKS_MAX,
    ChannelState,
    RecordedCall,
    Rejection,
    ScheduledMessage,
    UploadedFile,
    UserGroupState,
    UserState,
    channel_name_error,
    tz_details,
)

PERMALINK_HOST = "https://standin.slack.local"
SOCKET_ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class _Failure(Exception):
    """Ends a method with Slack's `{"ok": false, "error": ...}`."""

    def __init__(self, error: str, *, messages: Iterable[str] = (), **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra: JSON = dict(extra)
        if messages:
            self.extra["response_metadata"] = {"messages": list(messages)}


@dataclass(frozen=True)
class _Answer:
    body: JSON
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    injected: bool = False


@dataclass
class _Fault:
    method: str
    status: int
    retry_after: int | None
    error: str | None
    remaining: int
    hang: float


class _Args:
    """A call's arguments, whether they came as a query, a form or a JSON body."""

    def __init__(self, raw: JSON) -> None:
        self.raw = raw

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def text(self, name: str, default: str = "") -> str:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    def optional(self, name: str) -> str | None:
        return self.text(name) if self.has(name) else None

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in {"1", "true", "yes"}

    def integer(self, name: str, error: str = "invalid_arguments") -> int | None:
        if not self.has(name):
            return None
        try:
            return int(float(self.text(name)))
        except ValueError:
            raise _Failure(error, messages=[f"[ERROR] {name} must be a number"]) from None

    def decoded(self, name: str, error: str = "invalid_arguments") -> Any:
        """A JSON-valued argument: form and query carry it as a string, JSON bodies as an object."""
        value = self.raw.get(name)
        if isinstance(value, str | bytes):
            try:
                return json.loads(value)
            except ValueError:
                raise _Failure(error, messages=[f"[ERROR] {name} is not valid JSON"]) from None
        return value


Handler = Callable[[_Args], JSON]


class SlackStandIn:
    """Slack's Web API on 127.0.0.1 with a workspace's worth of state, fault injection and Socket Mode.

    It keeps Slack's limits, so a client that is too chatty fails here as it would on Slack: each method's
    rate tier per workspace and method (Tier 2: 20 a minute, Tier 3: 50, Tier 4: 100, each with a minute's
    burst; standin/limits.py has the table and its sources), chat.postMessage at one a second per channel
    after a burst of 25, answered past the allowance with HTTP 429, `Retry-After` in whole seconds and
    `{"ok": false, "error": "ratelimited"}`; and chat.scheduleMessage's `restricted_too_many` past 30 messages
    due within 5 minutes in one channel, `time_too_far` past 120 days. `rate_limits=False` turns the rate
    tiers off for a test or benchmark that floods on purpose; `RateLimits(scale=..., clock=...)` scales them
    or gives them a clock to advance (ManualClock). `clock` is Slack's wall clock (message timestamps, when a
    scheduled message is due): `hashi demo` shares one with Hashi, set back, to tell its story.
    """

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

        self._faults: list[_Fault] = []
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
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.create": self._conversations_create,
            "conversations.invite": self._conversations_invite,
            "conversations.join": self._conversations_join,
            "conversations.setTopic": self._conversations_set_topic,
            "conversations.setPurpose": self._conversations_set_purpose,
            "conversations.info": self._conversations_info,
            "conversations.list": self._conversations_list,
            "conversations.members": self._conversations_members,
            "conversations.archive": self._conversations_archive,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.scheduleMessage": self._chat_schedule_message,
            "chat.deleteScheduledMessage": self._chat_delete_scheduled_message,
            "chat.scheduledMessages.list": self._chat_scheduled_messages_list,
            "pins.add": self._pins_add,
            "pins.remove": self._pins_remove,
            "pins.list": self._pins_list,
            "reactions.add": self._reactions_add,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "bookmarks.add": self._bookmarks_add,
        }

    # ----------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Starts serving; port 0 picks a free one."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._serve_api)
        app.router.add_post("/upload/{file_id}", self._serve_upload)
        app.router.add_post("/responses/{url_id}", self._serve_response_url)
        app.router.add_get("/socket/{ticket}", self._serve_socket)
        self.openid.routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._host = host
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Closes Socket Mode connections and stops serving."""
        for pending in self._pending_acks.values():
            pending.cancel()
        self._pending_acks.clear()
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def implemented_methods(self) -> frozenset[str]:
        """The Web API methods the stand-in answers."""
        return frozenset(self._handlers) | {"openid.connect.token", "openid.connect.userInfo"}

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

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
        hang: float = 0.0,
    ) -> None:
        """Makes the next `times` calls of `method` ("*": any) fail; status 200 with no error only delays."""
        self._faults.append(_Fault(method, status, retry_after, error, times, hang))

    def clear_faults(self) -> None:
        """Forgets faults not yet used."""
        self._faults.clear()

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

    # ----------------------------------------------------------------- Socket Mode

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (asked-for API)
        """Waits until a Socket Mode client is connected; raises TimeoutError otherwise."""
        await asyncio.wait_for(self._socket_connected.wait(), timeout)

    async def socket_send(self, type: str, payload: JSON, *, timeout: float = 5.0) -> JSON:  # noqa: ASYNC109
        """Sends an envelope to the connected client and returns its acknowledgement."""
        if type not in SOCKET_ENVELOPE_TYPES:
            raise ValueError(f"Socket Mode envelope type must be one of {sorted(SOCKET_ENVELOPE_TYPES)}")
        await self.wait_socket_connected(timeout)
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": type != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        acknowledged: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending_acks[envelope_id] = acknowledged
        try:
            await self._sockets[-1].send_json(envelope)
            return await asyncio.wait_for(acknowledged, timeout)
        finally:
            self._pending_acks.pop(envelope_id, None)

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Asks connected clients to reconnect, as Slack does every few hours."""
        for socket in list(self._sockets):
            await socket.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "standin"}}
            )

    async def _serve_socket(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["ticket"] not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        socket = web.WebSocketResponse(autoping=True, timeout=2.0)
        await socket.prepare(request)
        self._sockets.append(socket)
        self.socket_connections += 1
        self._socket_connected.set()
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "standin", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    ack = json.loads(frame.data)
                    if isinstance(ack, dict) and "envelope_id" in ack:
                        self.socket_acks.append(ack)
                        pending = self._pending_acks.get(str(ack["envelope_id"]))
                        if pending is not None and not pending.done():
                            pending.set_result(ack)
        finally:
            self._sockets.remove(socket)
            if not self._sockets:
                self._socket_connected.clear()
        return socket

    # ----------------------------------------------------------------- HTTP plumbing

    async def _serve_api(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            method = request.match_info["method"]
            content_type = request.content_type if request.body_exists else ""
            args: JSON = {}
            try:
                args, token, as_json = await self._read_args(request)
            except _Failure as failure:
                answer = _Answer({"ok": False, "error": failure.error})
            else:
                answer = await self._answer(method, args, token, as_json=as_json)
            text = json.dumps(answer.body, ensure_ascii=False)
            self.calls.append(
                RecordedCall(
                    method=method,
                    args=args,
                    response=json.loads(text),
                    http_status=answer.status,
                    http_method=request.method,
                    content_type=content_type,
                    injected=answer.injected,
                )
            )
            return web.Response(
                status=answer.status, headers=answer.headers, text=text, content_type="application/json"
            )
        finally:
            self.in_flight -= 1

    async def _read_args(self, request: web.Request) -> tuple[JSON, str | None, bool]:
        args: JSON = dict(request.query)
        as_json = False
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _Failure("invalid_json") from None
                if not isinstance(body, dict):
                    raise _Failure("json_not_object")
                # Slack reads the token of a JSON call from the Authorization header only.
                body.pop("token", None)
                args.update(body)
                as_json = True
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        args[key] = value
                    elif isinstance(value, bytes | bytearray):
                        args[key] = bytes(value)
                    else:
                        args[key] = value.file.read()
        token = args.pop("token", None)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ").strip()
        elif authorization.startswith("Basic "):  # an app's client id and secret (openid.connect.token)
            try:
                client_id, _, client_secret = (
                    base64.b64decode(authorization.removeprefix("Basic ").strip()).decode().partition(":")
                )
            except ValueError:
                raise _Failure("invalid_auth") from None
            args.setdefault("client_id", client_id)
            args.setdefault("client_secret", client_secret)
        return args, (str(token) if token else None), as_json

    async def _answer(self, method: str, raw: JSON, token: str | None, *, as_json: bool) -> _Answer:
        """Checks a call as Slack would (method, token, faults, arguments), then runs its method."""
        self.deliver_due_scheduled()
        known = self.spec.knows(method) if self.spec is not None else method in self.implemented_methods
        if not known:
            self._reject(method, "unknown_method", "not in Slack's spec nor on the allow-list", raw)
            return _Answer({"ok": False, "error": "unknown_method"}, status=404)

        auth_error = self._auth_error(method, token)
        if auth_error is not None:
            return _Answer({"ok": False, "error": auth_error})

        fault = self._take_fault(method)
        if fault is not None:
            if fault.hang:
                await asyncio.sleep(fault.hang)
            if fault.status != 200 or fault.error is not None:
                return self._fault_answer(fault)

        if self.spec is not None and as_json and not self.spec.accepts_json(method):
            detail = "this method does not take application/json bodies; send a form or query"
            self._reject(method, "invalid_arguments", detail, raw)
            return _Answer(self._invalid_arguments(f"[ERROR] {detail}"))

        missing = sorted(self._missing_args(method, raw))
        if missing:
            self._reject(method, "invalid_arguments", f"missing required {', '.join(missing)}", raw)
            messages = [f"[ERROR] missing required field: {name}" for name in missing]
            return _Answer(self._invalid_arguments(*messages))

        retry_after = self.rate_limits.retry_after(
            team=self.team_id, method=method, channel=_Args(raw).optional("channel")
        )
        if retry_after is not None:
            return _Answer(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )

        if method.startswith("openid.connect."):
            try:
                body = (
                    self.openid.token(raw)
                    if method == "openid.connect.token"
                    else self.openid.user_info(token)
                )
            except OpenIdError as failure:
                return _Answer({"ok": False, "error": failure.error})
            return _Answer(body)
        handler = self._handlers.get(method)
        if handler is None:
            self._reject(method, "not_implemented", "known to Slack but not to the stand-in", raw)
            return _Answer({"ok": False, "error": "standin_not_implemented"})
        try:
            body = handler(_Args(raw))
        except _Failure as failure:
            return _Answer({"ok": False, "error": failure.error, **failure.extra})
        if self.validate_responses and self.spec is not None:
            self.schema_problems += [
                f"{method}: {problem}" for problem in self.spec.response_problems(method, body)
            ]
        headers = {"x-oauth-scopes": ",".join(self.scopes)} if token == self.bot_token else {}
        return _Answer(body, headers=headers)

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if method == "openid.connect.token":  # the app's credentials, checked by the method itself
            return None
        if method == "openid.connect.userInfo":  # a user token from Sign in with Slack, and nothing else
            if not token:
                return "not_authed"
            return None if token in self.openid.tokens else "invalid_auth"
        if not token:
            return "not_authed"
        if token not in (self.bot_token, self.app_token):
            return "invalid_auth"
        # An app-level token opens Socket Mode connections and does nothing else; a bot token cannot.
        if (token == self.app_token) != (method == "apps.connections.open"):
            return "not_allowed_token_type"
        return None

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in (method, "*"):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_answer(fault: _Fault) -> _Answer:
        headers: dict[str, str] = {}
        if fault.status == 429:
            error = fault.error or "ratelimited"
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
        elif fault.status == 503:
            error = fault.error or "service_unavailable"
        elif fault.status >= 500:
            error = fault.error or "internal_error"
        else:
            error = fault.error or "invalid_request"
        return _Answer({"ok": False, "error": error}, status=fault.status, headers=headers, injected=True)

    def _missing_args(self, method: str, raw: JSON) -> set[str]:
        required = self.spec.required_args(method) if self.spec is not None else frozenset()
        missing = set()
        for name in required:
            alternative = ARGUMENT_ALTERNATIVES.get((method, name))
            if raw.get(name) is None and (alternative is None or raw.get(alternative) is None):
                missing.add(name)
        return missing

    def _reject(self, method: str, error: str, detail: str, raw: JSON) -> None:
        self.rejections.append(Rejection(method=method, error=error, detail=detail, args=dict(raw)))

    @staticmethod
    def _invalid_arguments(*messages: str) -> JSON:
        return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": list(messages)}}

    async def _serve_upload(self, request: web.Request) -> web.Response:
        uploaded = self.files.get(request.match_info["file_id"])
        if uploaded is None:
            return web.Response(status=404, text="file not found", content_type="text/plain")
        if request.content_type == "multipart/form-data":
            content = b""
            reader = await request.multipart()
            part = await reader.next()
            if part is not None and isinstance(part, BodyPartReader):
                content = bytes(await part.read())
        else:
            content = await request.read()
        uploaded.content = content
        uploaded.uploaded = True
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    async def _serve_response_url(self, request: web.Request) -> web.Response:
        url_id = request.match_info["url_id"]
        if url_id not in self._response_urls:
            return web.Response(status=404, text="expired_url", content_type="text/plain")
        url = f"{self.base_url}/responses/{url_id}"
        if len(self.responses_to(url)) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url", content_type="text/plain")
        if request.content_type == "application/json":
            body = await request.json()
        else:
            form = await request.post()
            body = json.loads(str(form.get("payload", "{}")))
        self.responses.append(body)
        self._response_log.append((url, body))
        return web.Response(text="ok", content_type="text/plain")

    # ----------------------------------------------------------------- ids, clocks, shapes

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

    def _permalink(self, channel_id: str, message: JSON) -> str:
        link = f"{PERMALINK_HOST}/archives/{channel_id}/p{str(message['ts']).replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return link

    def _channel_object(self, channel: ChannelState, *, num_members: bool = False) -> JSON:
        if channel.is_im:
            user = next((m for m in channel.members if m != self.bot_user_id), self.bot_user_id)
            return {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": user,
                "is_user_deleted": False,
                "priority": 0,
            }
        obj: JSON = {
            "id": channel.id,
            "name": channel.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "created": channel.created,
            "is_archived": channel.is_archived,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "updated": channel.created * 1000,
            "creator": channel.creator,
            "is_member": self.bot_user_id in channel.members,
            "last_read": "0000000000.000000",
            "topic": {
                "value": channel.topic,
                "creator": channel.topic_set[0],
                "last_set": channel.topic_set[1],
            },
            "purpose": {
                "value": channel.purpose,
                "creator": channel.purpose_set[0],
                "last_set": channel.purpose_set[1],
            },
            "previous_names": [],
            "priority": 0,
        }
        if num_members:
            obj["num_members"] = len(channel.members)
        return obj

    def _user_object(self, user: UserState, *, include_locale: bool) -> JSON:
        tz_label, tz_offset = tz_details(user.tz)
        avatar = f"{PERMALINK_HOST}/avatars/{user.id}"
        profile: JSON = {
            "title": "",
            "phone": "",
            "skype": "",
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.display_name,
            "display_name_normalized": user.display_name,
            "fields": {},
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": "g" + user.id[-10:].lower(),
            "first_name": user.real_name.split(" ")[0],
            "last_name": " ".join(user.real_name.split(" ")[1:]),
            "image_24": f"{avatar}_24.png",
            "image_32": f"{avatar}_32.png",
            "image_48": f"{avatar}_48.png",
            "image_72": f"{avatar}_72.png",
            "image_192": f"{avatar}_192.png",
            "image_512": f"{avatar}_512.png",
            "team": self.team_id,
        }
        if user.email is not None:
            profile["email"] = user.email
        if user.is_bot:
            profile.update(bot_id=self.bot_id, api_app_id=self.app_id, always_active=True)
        obj: JSON = {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": user.updated,
            "is_email_confirmed": user.email is not None,
            "who_can_share_contact_card": "EVERYONE",
        }
        if include_locale:
            obj["locale"] = user.locale
        return obj

    def _view_object(self, view: JSON, *, view_id: str, root_view_id: str, previous: str | None) -> JSON:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self._clock())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id,
            "previous_view_id": previous,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _file_object(self, uploaded: UploadedFile) -> JSON:
        extension = uploaded.name.rsplit(".", 1)[-1].lower() if "." in uploaded.name else "text"
        private = f"{PERMALINK_HOST}/files-pri/{self.team_id}-{uploaded.id}/{uploaded.name}"
        channels = [uploaded.channel_id] if uploaded.channel_id else []
        return {
            "id": uploaded.id,
            "created": uploaded.created,
            "timestamp": uploaded.created,
            "name": uploaded.name,
            "title": uploaded.title or uploaded.name,
            "mimetype": mimetypes.guess_type(uploaded.name)[0] or "text/plain",
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "editable": False,
            "size": len(uploaded.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(channels) and not self.channels[channels[0]].is_private,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": private,
            "url_private_download": private.replace("/files-pri/", "/files-pri/download/"),
            "permalink": f"{PERMALINK_HOST}/files/{self.bot_user_id}/{uploaded.id}/{uploaded.name}",
            "permalink_public": f"{PERMALINK_HOST}/{self.team_id}-{uploaded.id}",
            "comments_count": 0,
            "is_starred": False,
            "shares": {},
            "channels": channels,
            "groups": [],
            "ims": [],
            "has_rich_preview": False,
            "file_access": "visible",
        }

    # ----------------------------------------------------------------- shared checks

    def _visible(self, channel_id: str) -> ChannelState:
        """The channel if the bot can see it (a private one only from inside)."""
        channel = self.channels.get(channel_id)
        if channel is None or (
            (channel.is_private or channel.is_im) and self.bot_user_id not in channel.members
        ):
            raise _Failure("channel_not_found")
        return channel

    def _joined(self, channel_id: str, *, writable: bool = True) -> ChannelState:
        """The channel if the bot is in it (and, for writes, it is not archived)."""
        channel = self._visible(channel_id)
        if writable and channel.is_archived:
            raise _Failure("is_archived")
        if self.bot_user_id not in channel.members:
            raise _Failure("not_in_channel")
        return channel

    def _message(self, channel: ChannelState, ts: str) -> JSON:
        message = channel.message(ts)
        if message is None:
            raise _Failure("message_not_found")
        return message

    @staticmethod
    def _blocks(
        args: _Args, *, limit: int = MESSAGE_BLOCKS_MAX, pointer: str = "/blocks"
    ) -> list[Any] | None:
        """The blocks argument parsed and checked as Slack does, or None when absent."""
        if not args.has("blocks"):
            return None
        return _checked_blocks(args.decoded("blocks", "invalid_blocks_format"), limit=limit, pointer=pointer)

    def _message_content(self, args: _Args) -> tuple[str, list[Any] | None, list[Any] | None]:
        """(text, blocks, attachments), failing with no_text when a message would be empty."""
        text = args.text("text")
        blocks = self._blocks(args)
        attachments = args.decoded("attachments", "invalid_attachments") if args.has("attachments") else None
        if attachments is not None and not isinstance(attachments, list):
            raise _Failure("invalid_attachments")
        if not text and not blocks and not attachments:
            raise _Failure("no_text")
        if len(text) > MESSAGE_TEXT_MAX:
            raise _Failure("msg_too_long")
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
        raise _Failure("channel_not_found")

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
            raise _Failure("user_not_found")
        return user

    @staticmethod
    def _page(items: list[Any], args: _Args, *, default_limit: int = 100) -> tuple[list[Any], str]:
        """One page of `items` and the cursor of the next ("" at the end)."""
        limit = args.integer("limit", "invalid_limit") or default_limit
        offset = 0
        if args.text("cursor"):
            try:
                offset = int(base64.b64decode(args.text("cursor")).decode().removeprefix("offset:"))
            except ValueError:
                raise _Failure("invalid_cursor") from None
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
        cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
        return page, cursor

    # ----------------------------------------------------------------- auth, apps, users

    def _auth_test(self, _args: _Args) -> JSON:
        return {
            "ok": True,
            "url": f"{PERMALINK_HOST}/",
            "team": self.team_name,
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, _args: _Args) -> JSON:
        ticket = self._new_id("", 16).lower()
        self._tickets.add(ticket)
        return {"ok": True, "url": f"ws://{self._host}:{self._port}/socket/{ticket}"}

    def _users_info(self, args: _Args) -> JSON:
        user = self._user(args.text("user"))
        return {"ok": True, "user": self._user_object(user, include_locale=args.flag("include_locale"))}

    def _users_lookup_by_email(self, args: _Args) -> JSON:
        email = args.text("email").lower()
        for user in self.users.values():
            if user.email is not None and user.email.lower() == email:
                return {"ok": True, "user": self._user_object(user, include_locale=False)}
        raise _Failure("users_not_found")

    def _usergroups_users_list(self, args: _Args) -> JSON:
        group = self.usergroups.get(args.text("usergroup"))
        if group is None:
            raise _Failure("no_such_subteam")
        return {"ok": True, "users": list(group.users)}

    # ----------------------------------------------------------------- conversations

    def _conversations_create(self, args: _Args) -> JSON:
        name = args.text("name")
        error = channel_name_error(name)
        if error is not None:
            raise _Failure(error)
        if any(channel.name == name for channel in self.channels.values() if not channel.is_im):
            raise _Failure("name_taken")
        channel = ChannelState(
            id=self._new_id("C"),
            name=name,
            is_private=args.flag("is_private"),
            created=int(self._clock()),
            creator=self.bot_user_id,
            members=[self.bot_user_id],
        )
        self.channels[channel.id] = channel
        return {"ok": True, "channel": self._channel_object(channel)}

    def _conversations_invite(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        if channel.is_im:
            raise _Failure("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _Failure("is_archived")
        if self.bot_user_id not in channel.members:
            raise _Failure("not_in_channel")
        user_ids = [user_id.strip() for user_id in args.text("users").split(",") if user_id.strip()]
        if not user_ids:
            raise _Failure("no_user")
        if len(user_ids) > 1000:
            raise _Failure("too_many_users")
        errors = []
        for user_id in user_ids:
            if user_id == self.bot_user_id:
                errors.append({"user": user_id, "ok": False, "error": "cant_invite_self"})
            elif user_id not in self.users:
                errors.append({"user": user_id, "ok": False, "error": "user_not_found"})
        if errors and not args.flag("force"):
            raise _Failure(str(errors[0]["error"]), errors=errors)
        bad = {str(error["user"]) for error in errors}
        newcomers = [user_id for user_id in user_ids if user_id not in bad and user_id not in channel.members]
        if not newcomers and not errors:
            raise _Failure(
                "already_in_channel",
                errors=[
                    {"user": user_id, "ok": False, "error": "already_in_channel"} for user_id in user_ids
                ],
            )
        channel.members.extend(dict.fromkeys(newcomers))
        body: JSON = {"ok": True, "channel": self._channel_object(channel)}
        if errors:
            body["errors"] = errors
        return body

    def _conversations_join(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        if channel.is_private or channel.is_im:
            raise _Failure("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _Failure("is_archived")
        body: JSON = {"ok": True}
        if self.bot_user_id in channel.members:
            body.update(warning="already_in_channel", response_metadata={"warnings": ["already_in_channel"]})
        else:
            channel.members.append(self.bot_user_id)
        body["channel"] = self._channel_object(channel)
        return body

    def _set_channel_text(self, args: _Args, attribute: str) -> JSON:
        channel = self._joined(args.text("channel"))
        if channel.is_im:
            raise _Failure("method_not_supported_for_channel_type")
        value = args.text(attribute)
        if len(value) > TOPIC_MAX:
            raise _Failure("too_long")
        setattr(channel, attribute, value)
        setattr(channel, f"{attribute}_set", (self.bot_user_id, int(self._clock())))
        return {"ok": True, "channel": self._channel_object(channel)}

    def _conversations_set_topic(self, args: _Args) -> JSON:
        return self._set_channel_text(args, "topic")

    def _conversations_set_purpose(self, args: _Args) -> JSON:
        return self._set_channel_text(args, "purpose")

    def _conversations_info(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        return {
            "ok": True,
            "channel": self._channel_object(channel, num_members=args.flag("include_num_members")),
        }

    def _conversations_list(self, args: _Args) -> JSON:
        types = {t.strip() for t in args.text("types", "public_channel").split(",") if t.strip()}
        wanted = [
            channel
            for channel in self.channels.values()
            if not channel.is_im
            and ("private_channel" if channel.is_private else "public_channel") in types
            and (not channel.is_private or self.bot_user_id in channel.members)
            and not (args.flag("exclude_archived") and channel.is_archived)
        ]
        page, cursor = self._page(wanted, args)
        return {
            "ok": True,
            "channels": [self._channel_object(channel) for channel in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_members(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        members, cursor = self._page(channel.members, args)
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": cursor}}

    def _conversations_archive(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        if channel.is_im:
            raise _Failure("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _Failure("already_archived")
        channel.is_archived = True
        return {"ok": True}

    def _conversations_history(self, args: _Args) -> JSON:
        channel = self._joined(args.text("channel"), writable=False)
        inclusive = args.flag("inclusive")
        oldest = _ts_arg(args, "oldest", "invalid_ts_oldest")
        latest = _ts_arg(args, "latest", "invalid_ts_latest")
        messages = [
            message
            for message in reversed(channel.top_level())
            if _within(float(message["ts"]), oldest, latest, inclusive=inclusive)
        ]
        page, cursor = self._page(messages, args)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(cursor),
            "pin_count": len(channel.pins),
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, args: _Args) -> JSON:
        channel = self._joined(args.text("channel"), writable=False)
        parent = channel.message(args.text("ts"))
        if parent is None:
            raise _Failure("thread_not_found")
        thread_ts = parent.get("thread_ts", parent["ts"])
        thread = [m for m in channel.messages if m is parent or (m.get("thread_ts") == thread_ts)]
        page, cursor = self._page(thread, args, default_limit=1000)
        return {
            "ok": True,
            "messages": page,
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    # ----------------------------------------------------------------- chat

    def _chat_post_message(self, args: _Args) -> JSON:
        channel = self._message_channel(args.text("channel"))
        channel = self._joined(channel.id)
        text, blocks, attachments = self._message_content(args)
        message = self._bot_message(text=text, blocks=blocks)
        if attachments is not None:
            message["attachments"] = attachments
        if args.has("metadata"):
            message["metadata"] = args.decoded("metadata")
        thread_ts = args.optional("thread_ts")
        if thread_ts:
            parent = channel.message(thread_ts)
            if parent is None:
                raise _Failure("invalid_thread_ts")
            message["thread_ts"] = parent.get("thread_ts", parent["ts"])
            if args.flag("reply_broadcast"):
                message["subtype"] = "thread_broadcast"
        self._append(channel, message)
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": message}

    def _chat_post_ephemeral(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        if channel.is_archived:
            raise _Failure("is_archived")
        user_id = args.text("user")
        if user_id not in channel.members:
            raise _Failure("user_not_in_channel")
        text, blocks, attachments = self._message_content(args)
        message_ts = self._next_ts()
        self.ephemeral.setdefault(user_id, []).append(
            {
                "channel": channel.id,
                "user": user_id,
                "text": text,
                "blocks": blocks,
                "attachments": attachments,
                "thread_ts": args.optional("thread_ts"),
                "message_ts": message_ts,
            }
        )
        return {"ok": True, "message_ts": message_ts}

    def _chat_update(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        message = self._message(channel, args.text("ts"))
        if message.get("user") != self.bot_user_id:
            raise _Failure("cant_update_message")
        text, blocks, attachments = self._message_content(args)
        message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        if attachments is not None:
            message["attachments"] = attachments
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "text": text, "message": message}

    def _chat_delete(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        message = self._message(channel, args.text("ts"))
        if message.get("user") != self.bot_user_id:
            raise _Failure("cant_delete_message")
        channel.messages.remove(message)
        if message["ts"] in channel.pins:
            channel.pins.remove(message["ts"])
        return {"ok": True, "channel": channel.id, "ts": message["ts"]}

    def _chat_get_permalink(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        message = self._message(channel, args.text("message_ts"))
        return {"ok": True, "channel": channel.id, "permalink": self._permalink(channel.id, message)}

    def _chat_schedule_message(self, args: _Args) -> JSON:
        post_at = args.integer("post_at", "invalid_time")
        assert post_at is not None  # required, checked before the handler runs
        now = self._clock()
        if post_at <= now:
            raise _Failure("time_in_past")
        if post_at > now + SCHEDULE_HORIZON_SECONDS:
            raise _Failure("time_too_far")
        channel = self._joined(self._message_channel(args.text("channel")).id)
        text, blocks, _ = self._message_content(args)
        if self._scheduled_window_full(channel.id, post_at):
            raise _Failure("restricted_too_many")
        scheduled = ScheduledMessage(
            id=self._new_id("Q"),
            channel_id=channel.id,
            post_at=post_at,
            date_created=int(now),
            text=text,
            blocks=blocks,
            thread_ts=args.optional("thread_ts"),
        )
        self.scheduled[scheduled.id] = scheduled
        message: JSON = {
            "type": "delayed_message",
            "text": text,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": self.team_id,
            "bot_profile": self._bot_profile(),
        }
        if blocks is not None:
            message["blocks"] = blocks
        return {
            "ok": True,
            "channel": channel.id,
            "scheduled_message_id": scheduled.id,
            "post_at": post_at,
            "message": message,
        }

    def _scheduled_window_full(self, channel_id: str, post_at: int) -> bool:
        """Whether a 5-minute window holding `post_at` already holds Slack's 30 messages for the channel."""
        due = sorted(
            s.post_at
            for s in self.scheduled.values()
            if s.channel_id == channel_id and abs(s.post_at - post_at) < SCHEDULE_WINDOW_SECONDS
        )
        # A window [start, start + 5 min) holding post_at starts at post_at or at an earlier message.
        starts = [start for start in due if start <= post_at] + [post_at]
        return any(
            sum(start <= t < start + SCHEDULE_WINDOW_SECONDS for t in due) >= SCHEDULE_WINDOW_MAX
            for start in starts
        )

    def _chat_delete_scheduled_message(self, args: _Args) -> JSON:
        scheduled = self.scheduled.get(args.text("scheduled_message_id"))
        if scheduled is None or scheduled.channel_id != args.text("channel"):
            raise _Failure("invalid_scheduled_message_id")
        del self.scheduled[scheduled.id]
        return {"ok": True}

    def _chat_scheduled_messages_list(self, args: _Args) -> JSON:
        channel_id = args.optional("channel")
        if channel_id is not None and channel_id not in self.channels:
            raise _Failure("invalid_channel")
        oldest = args.integer("oldest")
        latest = args.integer("latest")
        items = [
            {
                "id": scheduled.id,
                "channel_id": scheduled.channel_id,
                "post_at": scheduled.post_at,
                "date_created": scheduled.date_created,
                "text": scheduled.text,
            }
            for scheduled in sorted(self.scheduled.values(), key=lambda item: item.post_at)
            if (channel_id is None or scheduled.channel_id == channel_id)
            and (oldest is None or scheduled.post_at >= oldest)
            and (latest is None or scheduled.post_at <= latest)
        ]
        page, cursor = self._page(items, args)
        return {"ok": True, "scheduled_messages": page, "response_metadata": {"next_cursor": cursor}}

    # ----------------------------------------------------------------- pins and reactions

    def _pinned_message(self, args: _Args) -> tuple[ChannelState, JSON]:
        channel = self._joined(args.text("channel"), writable=False)
        if not args.text("timestamp"):
            raise _Failure("no_item_specified")
        return channel, self._message(channel, args.text("timestamp"))

    def _pins_add(self, args: _Args) -> JSON:
        channel, message = self._pinned_message(args)
        if message["ts"] in channel.pins:
            raise _Failure("already_pinned")
        channel.pins.append(message["ts"])
        channel.pinned_at[message["ts"]] = int(self._clock())
        message["pinned_to"] = [channel.id]
        return {"ok": True}

    def _pins_remove(self, args: _Args) -> JSON:
        channel, message = self._pinned_message(args)
        if message["ts"] not in channel.pins:
            raise _Failure("no_pin")
        channel.pins.remove(message["ts"])
        channel.pinned_at.pop(message["ts"], None)
        message.pop("pinned_to", None)
        return {"ok": True}

    def _pins_list(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        items = []
        for ts in reversed(channel.pins):
            message = self._message(channel, ts)
            items.append(
                {
                    "type": "message",
                    "created": channel.pinned_at.get(ts, 0),
                    "created_by": self.bot_user_id,
                    "channel": channel.id,
                    "message": {**message, "permalink": self._permalink(channel.id, message)},
                }
            )
        return {"ok": True, "items": items}

    def _reactions_add(self, args: _Args) -> JSON:
        channel = self._visible(args.text("channel"))
        message = self._message(channel, args.text("timestamp"))
        name = args.text("name").strip(":")
        if not name or any(char.isspace() or char == ":" for char in name):
            raise _Failure("invalid_name")
        reactions: list[JSON] = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if self.bot_user_id in reaction["users"]:
            raise _Failure("already_reacted")
        reaction["users"].append(self.bot_user_id)
        reaction["count"] += 1
        return {"ok": True}

    # ----------------------------------------------------------------- views

    def _view_arg(self, args: _Args, *, kind: str, replacing: str | None = None) -> JSON:
        view = args.decoded("view")
        if not isinstance(view, dict):
            raise _Failure(
                "invalid_arguments", messages=["[ERROR] view must be an object [json-pointer:/view]"]
            )
        if view.get("type") != kind:
            raise _Failure(
                "invalid_arguments", messages=[f"[ERROR] must be '{kind}' [json-pointer:/view/type]"]
            )
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list):
            raise _Failure(
                "invalid_arguments", messages=["[ERROR] must be an array [json-pointer:/view/blocks]"]
            )
        _checked_blocks(blocks, limit=VIEW_BLOCKS_MAX, pointer="/view/blocks")
        if kind == "modal":
            title = view.get("title")
            if not isinstance(title, dict) or not title.get("text"):
                raise _Failure(
                    "invalid_arguments",
                    messages=["[ERROR] missing required field: title [json-pointer:/view]"],
                )
            if len(str(title["text"])) > 24:
                raise _Failure(
                    "invalid_arguments",
                    messages=["[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"],
                )
            if any(block.get("type") == "input" for block in blocks) and not view.get("submit"):
                raise _Failure(
                    "invalid_arguments",
                    messages=[
                        "[ERROR] must provide a submit property when using input blocks [json-pointer:/view]"
                    ],
                )
        if len(str(view.get("private_metadata", ""))) > 3000:
            raise _Failure(
                "invalid_arguments",
                messages=["[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"],
            )
        external_id = view.get("external_id")
        if external_id and any(
            v["external_id"] == external_id and v["id"] != replacing for v in self.views.values()
        ):
            raise _Failure("duplicate_external_id")
        return view

    def _views_open(self, args: _Args) -> JSON:
        view = self._view_arg(args, kind="modal")
        view_id = self._new_id("V")
        self.views[view_id] = self._view_object(view, view_id=view_id, root_view_id=view_id, previous=None)
        return {"ok": True, "view": self.views[view_id]}

    def _views_push(self, args: _Args) -> JSON:
        view = self._view_arg(args, kind="modal")
        modals = [v for v in self.views.values() if v["type"] == "modal"]
        previous = modals[-1] if modals else None
        view_id = self._new_id("V")
        root = previous["root_view_id"] if previous else view_id
        self.views[view_id] = self._view_object(
            view, view_id=view_id, root_view_id=root, previous=previous["id"] if previous else None
        )
        return {"ok": True, "view": self.views[view_id]}

    def _views_update(self, args: _Args) -> JSON:
        if args.text("view_id"):
            current = self.views.get(args.text("view_id"))
        elif args.text("external_id"):
            external_id = args.text("external_id")
            current = next((v for v in self.views.values() if v["external_id"] == external_id), None)
        else:
            raise _Failure(
                "invalid_arguments", messages=["[ERROR] either view_id or external_id is required"]
            )
        if current is None:
            raise _Failure("not_found")
        if args.text("hash") and args.text("hash") != current["hash"]:
            raise _Failure("hash_conflict")
        view = self._view_arg(args, kind=str(current["type"]), replacing=str(current["id"]))
        updated = self._view_object(
            view,
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous=current["previous_view_id"],
        )
        self.views[current["id"]] = updated
        for user_id, home in self.home_views.items():
            if home["id"] == current["id"]:
                self.home_views[user_id] = updated
        return {"ok": True, "view": updated}

    def _views_publish(self, args: _Args) -> JSON:
        user_id = args.text("user_id")
        self._user(user_id)
        current = self.home_views.get(user_id)
        view = self._view_arg(args, kind="home", replacing=current["id"] if current else None)
        if current is not None and args.text("hash") and args.text("hash") != current["hash"]:
            raise _Failure("hash_conflict")
        view_id = current["id"] if current is not None else self._new_id("V")
        published = self._view_object(view, view_id=view_id, root_view_id=view_id, previous=None)
        self.views[view_id] = published
        self.home_views[user_id] = published
        return {"ok": True, "view": published}

    # ----------------------------------------------------------------- files and bookmarks

    def _files_get_upload_url_external(self, args: _Args) -> JSON:
        length = args.integer("length")
        if length is None or length < 0:
            raise _Failure("invalid_arguments", messages=["[ERROR] length must be a positive number"])
        file_id = self._new_id("F")
        self.files[file_id] = UploadedFile(
            id=file_id, name=args.text("filename"), length=length, created=int(self._clock())
        )
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, args: _Args) -> JSON:
        entries = args.decoded("files")
        if not isinstance(entries, list) or not entries:
            raise _Failure("invalid_arguments", messages=["[ERROR] files must be a non-empty JSON array"])
        uploads: list[tuple[UploadedFile, JSON]] = []
        for entry in entries:
            uploaded = self.files.get(str(entry.get("id", ""))) if isinstance(entry, dict) else None
            if uploaded is None or not uploaded.uploaded or uploaded.completed:
                raise _Failure("file_not_found")
            uploads.append((uploaded, entry))
        channel_ids = [c for c in args.text("channels").split(",") if c] or [args.text("channel_id")]
        channel_ids = [c for c in channel_ids if c]
        channels = [self._joined(channel_id) for channel_id in channel_ids]
        comment = args.optional("initial_comment")
        thread_ts = args.optional("thread_ts")
        for uploaded, entry in uploads:
            uploaded.title = str(entry.get("title") or uploaded.name)
            uploaded.completed = True
            uploaded.channel_id = channels[0].id if channels else None
            uploaded.initial_comment = comment
            uploaded.thread_ts = thread_ts
        objects = [self._file_object(uploaded) for uploaded, _ in uploads]
        for channel in channels:
            message = self._bot_message(text=comment or "")
            message.update(files=objects, upload=True, display_as_bot=False)
            if thread_ts:
                message["thread_ts"] = thread_ts
            self._append(channel, message)
        return {"ok": True, "files": objects}

    def _bookmarks_add(self, args: _Args) -> JSON:
        channel = self._joined(args.text("channel_id"))
        kind = args.text("type")
        if kind != "link":
            raise _Failure("invalid_bookmark_type")
        link = args.text("link")
        if not link.startswith(("http://", "https://")):
            raise _Failure("invalid_link")
        now = int(self._clock())
        bookmark: JSON = {
            "id": self._new_id("Bk"),
            "channel_id": channel.id,
            "title": args.text("title"),
            "link": link,
            "emoji": args.text("emoji"),
            "icon_url": "",
            "type": kind,
            "entity_id": args.text("entity_id"),
            "date_created": now,
            "date_updated": now,
            "rank": chr(ord("U") + len(channel.bookmarks)),
            "last_updated_by_user_id": self.bot_user_id,
            "last_updated_by_team_id": self.team_id,
            "shortcut_id": "",
            "app_id": self.app_id,
        }
        channel.bookmarks.append(bookmark)
        return {"ok": True, "bookmark": bookmark}


def _checked_blocks(blocks: Any, *, limit: int, pointer: str) -> list[Any]:
    if not isinstance(blocks, list):
        raise _Failure("invalid_blocks_format")
    if len(blocks) > limit:
        raise _Failure(
            "invalid_blocks",
            messages=[f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]"],
        )
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or not block.get("type"):
            raise _Failure(
                "invalid_blocks",
                messages=[f"[ERROR] missing required field: type [json-pointer:{pointer}/{index}]"],
            )
    return blocks


def _ts_arg(args: _Args, name: str, error: str) -> float | None:
    if not args.text(name):
        return None
    try:
        return float(args.text(name))
    except ValueError:
        raise _Failure(error) from None


def _within(ts: float, oldest: float | None, latest: float | None, *, inclusive: bool) -> bool:
    if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
        return False
    return not (latest is not None and (ts > latest or (ts == latest and not inclusive)))
