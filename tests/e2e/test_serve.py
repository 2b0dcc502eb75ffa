"""`hashi serve --http` as a real process: migrations, /healthz, /metrics, signed requests, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from bot.standin.driver import sign
from bot.standin.harness import ALICE, GENERAL, populate
from bot.standin.server import SlackStandIn
from bot.standin.spec import ApiSpec

REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_http_end_to_end(tmp_path: Path, slack_spec: ApiSpec) -> None:
    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    port, secret = _free_port(), "serve-test-secret"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "SLACK_BOT_TOKEN": standin.bot_token,
        "SLACK_SIGNING_SECRET": secret,
        "HASHI_SLACK_API_URL": standin.api_url,
        "HASHI_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "HASHI_HOST": "127.0.0.1",
        "HASHI_CONFIG": str(tmp_path / "none.toml"),
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
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(150):
                try:
                    async with http.get(f"{base}/healthz") as health:
                        if health.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("hashi serve did not answer /healthz")
            assert standin.calls_to("auth.test"), "the bot learns its identity at start"
            fields = {
                "team_id": standin.team_id,
                "channel_id": GENERAL,
                "user_id": ALICE,
                "command": "/incident",
                "text": "declare SEV2 Served for real",
                "response_url": standin.response_url(channel=GENERAL),
                "trigger_id": "1.1.served",
                "api_app_id": standin.app_id,
                "user_name": "alice",
            }
            body = urlencode(fields)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                **sign(secret, body, int(time.time())),
            }
            async with http.post(f"{base}/slack/events", data=body, headers=headers) as answer:
                assert answer.status == 200
            async with http.post(
                f"{base}/slack/events", data=body, headers={**headers, "X-Slack-Signature": "v0=0"}
            ) as bad:
                assert bad.status == 401
            for _ in range(100):
                if any(
                    c.name.startswith("inc-1-served-for-real") and c.pins for c in standin.channels.values()
                ):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the incident room was not set up")
            async with http.get(f"{base}/metrics") as metrics:
                text = await metrics.text()
            assert 'hashi_slack_requests_seconds_count{kind="command",status="200"}' in text
        assert standin.rejections == []
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=15)
        await standin.stop()
    assert process.returncode == 0, stderr.decode()[-2000:]
