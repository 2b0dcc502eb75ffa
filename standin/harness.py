"""Runs the real Hashi app over HTTP against the Slack stand-in: for `hashi demo` and the end-to-end tests."""

from __future__ import annotations

import asyncio
import copy
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

import bot
from bot.incidents.ports import Clock
from bot.settings import EnvSettings, Settings, TeamConfig
from standin.driver import SlackDriver
from standin.limits import RateLimits
from standin.server import SlackStandIn
from standin.spec import ApiSpec

# The stand-in workspace's people and channels.
ALICE, BOB, CAROL, MALLORY = "U0ALICE", "U0BOB", "U0CAROL", "U0MALLORY"
GENERAL, ANNOUNCE = "C0GENERAL", "C0ANNOUNCE"

_BOT = Path(bot.__file__).resolve().parent
# Where Hashi's work after an ack runs in tasks of its own: showings, pages, alerts, the inbox's writer.
_WORK_CODE = tuple(str(path) for path in (_BOT / "incidents", _BOT / "integrations", _BOT.parent / "storage"))


def _app_work(task: asyncio.Task[Any]) -> bool:
    """Whether a task is the app's work in hand: a Bolt listener's (after its ack) or a task of Hashi's own
    background work; not a loop that serves (Socket Mode, HTTP), the stand-in's, nor the caller's."""
    code = getattr(task.get_coro(), "cr_code", None)
    if code is None or task is asyncio.current_task():
        return False
    where = str(code.co_filename)
    return "slack_bolt" in Path(where).parts or where.startswith(_WORK_CODE)


@dataclass
class Hashi:
    """A running Hashi with Slack's side in hand."""

    standin: SlackStandIn
    driver: SlackDriver
    settings: Settings
    url: str
    runtime: Any
    base: str = ""  # http://127.0.0.1:<port>: the web dashboard, /alerts/… and /metrics answer there

    async def eventually(
        self, check: Callable[[], Any], *, within: float = 5.0, what: str = "the expected effect"
    ) -> Any:
        """Waits until `check()` returns something truthy (the app works after it acks)."""
        deadline = time.monotonic() + within
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    async def settle(self, quiet: float = 0.15, within: float = 10.0) -> None:
        """Waits until the app has made no Slack call for `quiet` seconds and has no work in hand (its
        background work is done). Quiet alone is not enough on a loaded machine: a listener's work after
        its ack may not reach its first Slack call within `quiet`, and a showing pacing a burst sleeps."""
        deadline = time.monotonic() + within
        seen = -1
        while time.monotonic() < deadline:
            count = len(self.standin.calls)
            busy = any(_app_work(task) for task in asyncio.all_tasks() if not task.done())
            if count == seen and self.standin.in_flight == 0 and not busy:
                return
            seen = count
            await asyncio.sleep(quiet)

    def channel_named(self, prefix: str) -> str | None:
        """The id of the first stand-in channel whose name starts with `prefix`."""
        return next((c.id for c in self.standin.channels.values() if c.name.startswith(prefix)), None)

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """The messages posted in a channel, oldest first."""
        return list(self.standin.channels[channel_id].messages)

    def card(self, channel_id: str) -> dict[str, Any]:
        """The pinned incident card of a channel, as it is now: a copy, as a client has rendered it (the
        stand-in updates its own message in place, and a later chat.update must not change what was shown)."""
        channel = self.standin.channels[channel_id]
        return copy.deepcopy(next(m for m in channel.messages if m["ts"] in channel.pins))

    def ephemeral_texts(self, response_url: str | None = None) -> list[str]:
        """Texts the app sent back through response_urls (all, or one)."""
        bodies = self.standin.responses_to(response_url) if response_url else self.standin.responses
        return [str(b.get("text", "")) for b in bodies]


def _free_port() -> int:
    """A TCP port nobody listens on right now (Hashi's address must be known before it starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def populate(standin: SlackStandIn) -> None:
    """People in several time zones and languages, a general channel and an announcements channel."""
    standin.add_user(ALICE, name="alice", real_name="Alice Sato", tz="Asia/Tokyo", locale="ja-JP")
    standin.add_user(BOB, name="bob", real_name="Bob Jones", tz="America/New_York", locale="en-US")
    standin.add_user(CAROL, name="carol", real_name="Carol Smith", tz="Europe/London", locale="en-GB")
    standin.add_user(MALLORY, name="mallory", real_name="Mallory", tz="UTC", locale="en-US")
    standin.add_channel(GENERAL, "general", members=[ALICE, BOB, CAROL, MALLORY, standin.bot_user_id])
    standin.add_channel(ANNOUNCE, "incidents", members=[standin.bot_user_id])


@asynccontextmanager
async def running_hashi(
    *,
    database_url: str,
    spec: ApiSpec | None,
    team: TeamConfig | None = None,
    latency: float = 0.0,
    announce: bool = True,
    timezone: str = "UTC",
    slack_timeout: float = 10.0,
    playbooks_dir: str | None = None,
    rate_limits: RateLimits | bool = True,
    postmortem_template: str | None = None,
    clock: Clock | None = None,
    environment: Mapping[str, str] | None = None,
    sign_in: bool = False,
    port: int = 0,
    dashboard: bool = True,
) -> AsyncIterator[Hashi]:
    """Starts the stand-in and Hashi (migrated database, HTTP on a free port, or `port`) and stops both
    afterwards; with `clock`, both read it (Slack's message timestamps and Hashi's records agree).
    `sign_in`: the web dashboard's Sign in with Slack is set up (an app registered at the stand-in,
    redirecting back to Hashi's address); `dashboard=False` is HASHI_WEB=false; `environment` adds
    environment settings by name (an integration's token and base URL)."""
    from bot.runtime import add_web_dashboard, build_runtime  # the composition root, as `hashi serve` uses
    from bot.slack.app import build_web

    standin = SlackStandIn(
        spec=spec,
        latency=latency,
        rate_limits=rate_limits,
        clock=(lambda: clock.now().timestamp()) if clock else time.time,
    )
    await standin.start()
    populate(standin)
    secret = secrets.token_hex(16)
    web_env: dict[str, Any] = {}
    if sign_in:
        port = port or _free_port()
        web_env = {
            "HASHI_SLACK_CLIENT_ID": "1111.2222",
            "HASHI_SLACK_CLIENT_SECRET": secrets.token_hex(16),
            "HASHI_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HASHI_SESSION_SECRET": secrets.token_hex(32),
        }
        standin.openid.register_client(
            client_id=web_env["HASHI_SLACK_CLIENT_ID"],
            client_secret=web_env["HASHI_SLACK_CLIENT_SECRET"],
            redirect_uri=f"{web_env['HASHI_PUBLIC_URL']}/auth/callback",
        )
    values: dict[str, Any] = {
        **web_env,
        "HASHI_WEB": dashboard,
        "SLACK_BOT_TOKEN": standin.bot_token,
        "SLACK_SIGNING_SECRET": secret,
        "HASHI_DATABASE_URL": database_url,
        "HASHI_SLACK_API_URL": standin.api_url,
        "HASHI_ANNOUNCE_CHANNEL": ANNOUNCE if announce else None,
        "HASHI_TIMEZONE": timezone,
        "HASHI_SLACK_TIMEOUT": slack_timeout,
        "HASHI_PLAYBOOKS_DIR": playbooks_dir,
        **(environment or {}),
    }
    env = EnvSettings(**values)
    settings = Settings(env=env, team=team or TeamConfig(), postmortem_template=postmortem_template)
    runtime = await build_runtime(settings, clock=clock)
    web_app = build_web(
        app=runtime.app,
        store=runtime.store,
        signing_secret=secret,
        turns=runtime.turns,
        alerts=runtime.alerts,
        github=runtime.github_webhook,
    )
    add_web_dashboard(runtime, web_app)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/slack/events"
    try:
        async with SlackDriver(url=url, signing_secret=secret, standin=standin) as driver:
            hashi = Hashi(
                standin=standin, driver=driver, settings=settings, url=url, runtime=runtime, base=base
            )
            yield hashi
            await hashi.settle()
    finally:
        await runner.cleanup()
        await runtime.close()
        await standin.stop()
