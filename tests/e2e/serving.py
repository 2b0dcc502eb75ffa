"""Runs `hashi serve --http` as a real process against the Slack stand-in, and signs requests for it."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from standin.driver import sign
from standin.server import SlackStandIn

REPO_ROOT = Path(__file__).resolve().parents[2]


async def until(check: Callable[[], object], *, within: float, what: str) -> None:
    """Waits until `check()` is truthy (the app works after it answers), else fails naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


# free_port() hands out ports below Linux's ephemeral range (32768-60999), which a bind to port 0 and outgoing
# connections draw from: between free_port() and the `hashi serve` process binding its port (a second or more
# while Python starts), no server binding port 0 and no client can take it, in this test process or another.
# Each pytest-xdist worker draws from its own slice, so two workers never hand out the same port.
PORTS_FROM, PORTS_PER_WORKER = 20_000, 400
_port_turns = itertools.count(random.randrange(PORTS_PER_WORKER))


def _worker_slice() -> int:
    """This xdist worker's number (`gw3` → 3), 0 without xdist."""
    number = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return int(number) % 30 if number.isdigit() else 0  # 30 slices end below 32,768


def free_port() -> int:
    """A TCP port nobody listens on right now, from this worker's slice below the ephemeral range."""
    first = PORTS_FROM + _worker_slice() * PORTS_PER_WORKER
    for _ in range(PORTS_PER_WORKER):
        port = first + next(_port_turns) % PORTS_PER_WORKER
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # in use (or lingering in TIME_WAIT): the next one
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{first + PORTS_PER_WORKER - 1}")


@dataclass
class Served:
    """One `hashi serve --http` process."""

    process: asyncio.subprocess.Process
    base: str
    secret: str

    async def wait_healthy(self, http: aiohttp.ClientSession, *, within: float = 60.0) -> None:
        """Waits until /healthz answers 200: on a loaded machine (CI's two cores, the suite's parallel
        workers) starting Python and migrating may take many seconds. Fails at once, with its stderr, if the
        process exits first."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                _, stderr = await self.process.communicate()
                raise AssertionError(
                    f"hashi serve exited with {self.process.returncode} before answering /healthz: "
                    + stderr.decode(errors="replace")[-2000:]
                )
            try:
                async with http.get(f"{self.base}/healthz") as health:
                    if health.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"hashi serve did not answer /healthz within {within:.0f} s")

    async def command(
        self, http: aiohttp.ClientSession, standin: SlackStandIn, text: str, *, user: str, channel: str
    ) -> int:
        """Sends a signed `/incident` command; returns the HTTP status."""
        fields = {
            "team_id": standin.team_id,
            "channel_id": channel,
            "user_id": user,
            "command": "/incident",
            "text": text,
            "response_url": standin.response_url(channel=channel),
            "trigger_id": f"{time.time()}.served",
            "api_app_id": standin.app_id,
            "user_name": user.lower(),
        }
        body = urlencode(fields)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **sign(self.secret, body, int(time.time())),
        }
        async with http.post(f"{self.base}/slack/events", data=body, headers=headers) as answer:
            return answer.status

    async def stop(self, sig: int = signal.SIGTERM) -> tuple[int | None, str]:
        """Signals the process and waits for it; returns its exit status and stderr."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout=20)
        return self.process.returncode, stderr.decode(errors="replace")


async def serve(
    standin: SlackStandIn,
    *,
    database_url: str,
    workdir: Path,
    port: int,
    secret: str,
    config: str = "",
    extra_env: dict[str, str] | None = None,
) -> Served:
    """Starts `python -m bot serve --http` with its environment pointed at the stand-in."""
    config_path = workdir / "hashi.toml"
    config_path.write_text(config, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "SLACK_BOT_TOKEN": standin.bot_token,
        "SLACK_SIGNING_SECRET": secret,
        "HASHI_SLACK_API_URL": standin.api_url,
        "HASHI_DATABASE_URL": database_url,
        "HASHI_HOST": "127.0.0.1",
        "HASHI_CONFIG": str(config_path),
        **(extra_env or {}),
    }
    env.pop("SLACK_APP_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--http",
        "--port",
        str(port),
        env=env,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Served(process=process, base=f"http://127.0.0.1:{port}", secret=secret)
