"""`hashi serve --http` as a real process: /healthz, /metrics, signed requests, SIGTERM, and SIGKILL."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from standin.harness import ALICE, GENERAL, populate
from standin.server import SlackStandIn
from standin.spec import ApiSpec
from tests.e2e.serving import free_port, serve, until


async def test_serve_http_end_to_end(tmp_path: Path, slack_spec: ApiSpec) -> None:
    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    served = await serve(
        standin,
        database_url=f"sqlite:///{tmp_path / 'serve.db'}",
        workdir=tmp_path,
        port=free_port(),
        secret="serve-test-secret",
    )
    try:
        async with aiohttp.ClientSession() as http:
            await served.wait_healthy(http)
            assert standin.calls_to("auth.test"), "the bot learns its identity at start"
            status = await served.command(
                http, standin, "declare SEV2 Served for real", user=ALICE, channel=GENERAL
            )
            assert status == 200
            bad = urlencode({"command": "/incident", "text": "declare SEV1 forged"})
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Signature": "v0=0",
                "X-Slack-Request-Timestamp": "1",
            }
            async with http.post(f"{served.base}/slack/events", data=bad, headers=headers) as forged:
                assert forged.status == 401
            await until(
                lambda: any(
                    c.name.startswith("inc-1-served-for-real") and c.pins for c in standin.channels.values()
                ),
                within=10,
                what="the incident room",
            )

            async def scrape() -> str:
                async with http.get(f"{served.base}/metrics") as metrics:
                    return await metrics.text()

            text = await scrape()
            for _ in range(100):  # reminders are scheduled just after the room is ready
                if "hashi_scheduled_reminders 0.0" not in text:
                    break
                await asyncio.sleep(0.05)
                text = await scrape()
            assert 'hashi_slack_requests_seconds_count{kind="command",status="200"}' in text
            assert 'hashi_slack_api_calls_total{method="conversations.create",outcome="ok"}' in text
            assert 'hashi_open_incidents{severity="SEV2"} 1.0' in text
            waiting = next(
                line for line in text.splitlines() if line.startswith("hashi_scheduled_reminders ")
            )
            assert (
                float(waiting.split()[1]) >= 1
            )  # at least the next status update waits in Slack's scheduler
        assert standin.rejections == []
    finally:
        code, stderr = await served.stop()
        await standin.stop()
    assert code == 0, stderr[-2000:]


@pytest.mark.slow
async def test_killed_mid_declaration_and_restarted_finishes_once(
    tmp_path: Path, slack_spec: ApiSpec
) -> None:
    standin = SlackStandIn(spec=slack_spec, latency=0.3)  # a slow Slack, so the kill lands mid-set-up
    await standin.start()
    populate(standin)
    url, port, secret = f"sqlite:///{tmp_path / 'crash.db'}", free_port(), "crash-secret"
    config = "setup_lease_seconds = 2\n"
    first = await serve(standin, database_url=url, workdir=tmp_path, port=port, secret=secret, config=config)
    try:
        async with aiohttp.ClientSession() as http:
            await first.wait_healthy(http)
            assert (
                await first.command(http, standin, "declare SEV2 Crashy", user=ALICE, channel=GENERAL) == 200
            )
            await until(lambda: standin.calls_to("conversations.create"), within=10, what="the channel")
            await first.stop(signal.SIGKILL)  # mid-set-up: the channel exists, the card does not yet
            room = next(c for c in standin.channels.values() if c.name.startswith("inc-1-"))
            assert not room.pins
            second = await serve(
                standin, database_url=url, workdir=tmp_path, port=port, secret=secret, config=config
            )
            try:
                await second.wait_healthy(http)
                await until(lambda: room.pins, within=20, what="the restarted bot to finish the set-up")
                assert (
                    await second.command(http, standin, "note After the restart", user=ALICE, channel=room.id)
                    == 200
                )
                await until(
                    lambda: any("After the restart" in m.get("text", "") for m in room.messages),
                    within=10,
                    what="the note's line",
                )
            finally:
                code, stderr = await second.stop()
            assert code == 0, stderr[-2000:]
        rooms = [c for c in standin.channels.values() if c.name.startswith("inc-")]
        assert len(rooms) == 1
        cards = [m for m in room.messages if str(m.get("text", "")).startswith("INC-1 [")]
        assert len(cards) == 1 and room.pins == [cards[0]["ts"]]
        assert standin.rejections == []
    finally:
        await standin.stop()


@pytest.mark.slow
async def test_alembic_speaks_only_when_it_migrates_and_slack_unreachable_is_not_blamed_on_the_token(
    tmp_path: Path, slack_spec: ApiSpec
) -> None:
    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    logs = []
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    try:
        # A new database, then the same one at the newest revision, with Slack out of reach.
        for extra_env in ({}, {"HASHI_SLACK_API_URL": nowhere}):
            served = await serve(
                standin,
                database_url=f"sqlite:///{tmp_path / 'quiet.db'}",
                workdir=tmp_path,
                port=free_port(),
                secret="quiet-secret",
                extra_env=extra_env,
            )
            async with aiohttp.ClientSession() as http:
                await served.wait_healthy(http)
            code, stderr = await served.stop()
            assert code == 0, stderr[-2000:]
            logs.append(stderr)
    finally:
        await standin.stop()
    first, again = logs
    assert "alembic.runtime.migration: Running upgrade  -> 0001" in first, first
    for log in logs:
        for noise in ("setup plugin", "Context impl", "non-transactional DDL"):
            assert noise not in log, log
    assert "alembic" not in again, again
    assert f"at start: Slack did not answer at {nowhere}" in again, again
    assert "check the network, DNS and any proxy" in again and "token was not checked" in again
