"""build_app(): the Bolt AsyncApp with every listener, and the HTTP server around it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientSession, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger import get_bolt_app_logger
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import build_normalized_headers, extract_content_type
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.incidents.ports import Clock
from bot.incidents.service import IncidentService
from bot.integrations.alerts import AlertIntake
from bot.integrations.github_webhook import PATH as GITHUB_PATH
from bot.integrations.github_webhook import GithubWebhook
from bot.observability import OPEN_INCIDENTS, REQUESTS, SCHEDULED_REMINDERS, request_kind
from bot.settings import Settings
from bot.slack.bodies import payload_problem, request_body, unused_kind
from bot.slack.gateway import SlackGateway
from bot.slack.inbox import SlackInbox
from bot.slack.listeners import register_all
from bot.slack.listeners.context import Deps
from bot.slack.text import may_hold_lone_surrogates, without_lone_surrogates
from bot.slack.turns import AckFirst
from bot.slack.webapi import SessionRespond
from storage.repository import Store

log = logging.getLogger(__name__)


class _QuietTokenNote(logging.Filter):
    """Drops Bolt's note that the SLACK_BOT_TOKEN it read itself goes unused (Hashi hands it a client)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(
    *,
    settings: Settings,
    service: IncidentService,
    gateway: SlackGateway,
    turns: AckFirst,
    inbox: SlackInbox,
    clock: Clock,
) -> AsyncApp:
    """The Bolt app: signature verification on, every listener registered, the gateway's client injected;
    listeners record their delivery in `inbox` before the ack and wait on `turns` after it (the HTTP
    server counts the requests waiting for theirs); the inbox replays unfinished deliveries through it."""
    bolt_logger = logging.getLogger("hashi.bolt")
    if not any(isinstance(f, _QuietTokenNote) for f in bolt_logger.filters):
        bolt_logger.addFilter(_QuietTokenNote())
    app = _HashiBolt(
        client=gateway.client,
        signing_secret=settings.env.slack_signing_secret or "",
        request_verification_enabled=bool(settings.env.slack_signing_secret),
        logger=bolt_logger,
        # The name Bolt would give it (its loggers' names) from the caller's file, which it finds by walking
        # the whole stack with its source lines (inspect.stack(): 40 ms under a test runner's deep stack).
        name="app.py",
    )
    app.use(_prepared(gateway.client.session))
    register_all(
        app, Deps(service=service, gateway=gateway, settings=settings, turns=turns, inbox=inbox, clock=clock)
    )
    inbox.app = app
    return app


class _HashiBolt(AsyncApp):
    """Bolt's AsyncApp, with one Web API client for every request. Bolt (since 1.15) builds an AsyncWebClient
    per request, reading the proxy environment and making its user agent each time, so that a listener may
    change a request's token: about a tenth of an acknowledgement's CPU. Hashi has one bot token and never
    changes it (tests/slack/test_listeners_inprocess.py holds a request's client to be the app's)."""

    def __init__(self, **kwargs: Any) -> None:
        # Bolt's function-token middleware sets a custom function's token on the request's client, which is
        # the app's own here: Hashi runs no custom functions, so it is off (where the Bolt has it).
        if "attaching_function_token_enabled" in inspect.signature(AsyncApp.__init__).parameters:
            kwargs.setdefault("attaching_function_token_enabled", False)
        super().__init__(**kwargs)
        self._request_logger = get_bolt_app_logger(app_name=self.name, base_logger=self._base_logger)

    def _init_context(self, req: AsyncBoltRequest) -> None:
        req.context["logger"] = self._request_logger
        req.context["token"] = self._token
        req.context["client"] = self._async_client
        req.context["listener_runner"] = self.listener_runner


def _prepared(session: ClientSession | None) -> Callable[..., Awaitable[BoltResponse]]:
    """The global middleware (one: Bolt builds every argument a middleware may take for each call), before any
    listener, over HTTP, Socket Mode and replays alike:
    - a lone surrogate in a payload (`\\ud800` in its JSON) becomes U+FFFD before any listener, the inbox's
      record or the database sees it (no UTF-8 encoder takes one); an HTTP body that holds no such escape is
      not walked;
    - listeners' `respond()` answers over the Web API calls' HTTP session (`session`)."""

    async def prepare(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse:
        raw = getattr(req, "raw_body", None)
        if not (isinstance(raw, str) and raw and not may_hold_lone_surrogates(raw)):
            req.body = without_lone_surrogates(req.body)
        url = req.context.response_url
        if url and session is not None:
            req.context["respond"] = SessionRespond(response_url=url, session=session)
        await next()
        return resp

    return prepare


class SlackHttpRequest(AsyncBoltRequest):
    """A signed HTTP request from Slack whose body is parsed by `request_body` (Bolt's parse_body reads a form
    body that merely holds the word `payload` as empty); the raw body stays for Bolt's signature check."""

    def __init__(self, *, body: str, query: str | None = None, headers: dict[str, Any] | None = None) -> None:
        parsed = request_body(body, extract_content_type(build_normalized_headers(headers)))
        # Bolt takes an already parsed body only in its Socket Mode form; parsed once, it is an HTTP request
        # with its raw body as it came (what both signature checks read).
        super().__init__(body=parsed, query=query, headers=headers, mode="socket_mode")
        self.raw_body = body
        self.mode = "http"

    def to_copyable(self) -> AsyncBoltRequest:
        """A copy parsed the same way (Bolt's own copy would parse the raw body again with parse_body)."""
        copy = super().to_copyable()
        copy.body = self.body
        copy.context = build_async_context(copy.context, self.body)
        return copy


def build_web(
    *,
    app: AsyncApp,
    store: Store,
    turns: AckFirst,
    signing_secret: str | None = None,
    github: GithubWebhook | None = None,
    alerts: AlertIntake | None = None,
) -> web.Application:
    """The HTTP routes: POST /slack/events, GET /healthz, GET /metrics, the alert webhooks
    (POST /alerts/alertmanager, POST /alerts/grafana), and POST /integrations/github when follow-ups become
    GitHub issues."""

    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def slack_events(request: web.Request) -> web.Response:
        with turns.answering():
            return await answer(request)

    async def answer(request: web.Request) -> web.Response:
        started = time.perf_counter()
        raw = await request.read()
        # The signature is checked on the raw bytes before anything is parsed, so nobody without the signing
        # secret can make the bot decode, parse or log anything (Bolt checks it again after).
        if verifier is not None:
            try:
                valid = verifier.is_valid(
                    body=raw,
                    timestamp=request.headers.get("X-Slack-Request-Timestamp"),
                    signature=request.headers.get("X-Slack-Signature"),
                )
            except ValueError:  # a timestamp that is not a number
                valid = False
            if not valid:
                return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = SlackHttpRequest(
                body=raw.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
            )
            if (unused := unused_kind(bolt_request.body)) is not None:
                log.info("ignored a delivery of a kind Hashi does not use: %s", unused)
                return web.Response(status=200)
            problem = payload_problem(bolt_request.body)
            if problem is None:
                bolt_response = await app.async_dispatch(bolt_request)
        except Exception as exc:  # Bolt tripping over a signed body of the wrong shape (a number as user id)
            problem = f"{type(exc).__name__}: {exc}"[:200]
        if problem is not None:
            log.warning("refused a malformed delivery: %s", problem)
            return web.json_response({"error": "malformed request"}, status=400)
        REQUESTS.labels(kind=request_kind(bolt_request.body), status=str(bolt_response.status)).observe(
            time.perf_counter() - started
        )
        return await to_aiohttp_response(bolt_response)

    async def healthz(_: web.Request) -> web.Response:
        try:
            await store.ping()
        except Exception as exc:  # any database failure means unhealthy, whatever the driver raised
            return web.json_response({"ok": False, "database": str(exc)[:200]}, status=503)
        return web.json_response({"ok": True})

    async def metrics(_: web.Request) -> web.Response:
        try:
            async with store.transaction() as repo:
                by_severity, reminders = await repo.open_counts()
        except Exception:  # metrics still answer when the database does not; /healthz reports that
            log.warning("metrics: database did not answer")
        else:
            OPEN_INCIDENTS.clear()
            for severity, count in by_severity.items():
                OPEN_INCIDENTS.labels(severity=severity).set(count)
            SCHEDULED_REMINDERS.set(reminders)
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    web_app = web.Application()
    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    if github is not None:
        web_app.router.add_post(GITHUB_PATH, github.receive)
    if alerts is not None:
        alerts.routes(web_app)
    return web_app


async def run_http(
    web_app: web.Application, *, host: str, port: int, ready: asyncio.Event | None = None
) -> None:
    """Serves HTTP until cancelled."""
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host=host, port=port)
    await site.start()
    log.info("serving HTTP on %s:%s", host, port)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def run_socket_mode(app: AsyncApp, *, app_token: str) -> None:
    """Connects to Slack over Socket Mode until cancelled."""
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("connected over Socket Mode")
    try:
        await asyncio.Event().wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
