"""A local stand-in for Slack's Web API, Socket Mode and response URLs, served over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from aiohttp import BodyPartReader, web

from standin.calls import Args, Failure, Fault
from standin.methods.chat import ChatMethods
from standin.methods.conversations import ConversationsMethods
from standin.methods.files import FilesMethods
from standin.methods.users import UsersMethods
from standin.methods.views import ViewsMethods
from standin.openid import OpenIdError
from standin.socket_mode import SocketMode
from standin.spec import ARGUMENT_ALTERNATIVES
from standin.state import (
    JSON,
    RESPONSE_URL_USES,
    RecordedCall,
    Rejection,
)


@dataclass(frozen=True)
class _Answer:
    body: JSON
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    injected: bool = False


Handler = Callable[[Args], JSON]


class SlackStandIn(SocketMode, UsersMethods, ConversationsMethods, ChatMethods, ViewsMethods, FilesMethods):
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

    @functools.cached_property
    def _handlers(self) -> dict[str, Handler]:
        """Each implemented Web API method's handler."""
        return {
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

    # ----------------------------------------------------------------- faults

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
        self._faults.append(Fault(method, status, retry_after, error, times, hang))

    def clear_faults(self) -> None:
        """Forgets faults not yet used."""
        self._faults.clear()

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
            except Failure as failure:
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
                    raise Failure("invalid_json") from None
                if not isinstance(body, dict):
                    raise Failure("json_not_object")
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
                raise Failure("invalid_auth") from None
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
            team=self.team_id, method=method, channel=Args(raw).optional("channel")
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
            body = handler(Args(raw))
        except Failure as failure:
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

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self._faults:
            if fault.method in (method, "*"):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_answer(fault: Fault) -> _Answer:
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
