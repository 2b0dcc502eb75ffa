"""`hashi doctor` against the Slack stand-in: what it finds, what it says to fix, and --repair."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from standin.harness import ALICE, ANNOUNCE, GENERAL, populate, running_hashi
from standin.server import SlackStandIn
from standin.spec import ApiSpec
from tests.e2e.serving import free_port
from tests.e2e.slack_retries import shorten_retry_waits
from tests.test_cli import hashi as run_hashi


async def _doctor(standin: SlackStandIn, url: str, workdir: Path, *args: str, **env: str) -> tuple[int, str]:
    """`hashi doctor ARGS` (its entry point, in this process: see tests/test_cli.py) against the stand-in."""
    result = await run_hashi(
        "doctor",
        *args,
        cwd=workdir,
        url=url,
        config=workdir / "none.toml",
        env={
            "SLACK_BOT_TOKEN": standin.bot_token,
            "SLACK_SIGNING_SECRET": "s",
            "HASHI_SLACK_API_URL": standin.api_url,
            **env,
        },
    )
    return result.code, result.out + result.err


async def test_doctor_finds_problems_and_repairs(
    tmp_path: Path, slack_spec: ApiSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    shorten_retry_waits(monkeypatch)  # the app's pins.add retries, not seconds of slack_sdk's backoff
    url = f"sqlite:///{tmp_path / 'doctor.db'}"
    async with running_hashi(database_url=url, spec=slack_spec) as hashi:
        standin = hashi.standin
        code, said = await _doctor(standin, url, tmp_path, HASHI_ANNOUNCE_CHANNEL=ANNOUNCE)
        assert code == 0, said
        assert "✓ slack token: bot hashi" in said and "✓ scopes: all granted" in said
        assert (
            "✓ database: answers, at the newest revision" in said and "✓ announce channel: #incidents" in said
        )

        standin.scopes.remove("pins:write")
        standin.add_channel("C0SECRET", "secret-ops", is_private=True, members=[ALICE])
        code, said = await _doctor(standin, url, tmp_path, HASHI_ANNOUNCE_CHANNEL="C0SECRET")
        assert code == 1
        assert (
            "✗ scopes: missing pins:write" in said
            and "✗ announce channel: C0SECRET: channel_not_found" in said
        )
        standin.scopes.append("pins:write")

        # A declaration whose pin failed every retry is finished by --repair.
        hashi.standin.fail_next("pins.add", status=500, times=5)
        sent = await hashi.driver.command("declare SEV3 Half built", user_id=ALICE, channel_id=GENERAL)
        told = await hashi.eventually(
            lambda: hashi.standin.responses_to(sent.response_url or ""),
            within=20,
            what="the declarer's reply",
        )
        assert "できませんでした: カードのピン留め" in told[0]["text"]  # Alice's Slack is in Japanese
        room = hashi.channel_named("inc-1-")
        assert room is not None
        assert not hashi.standin.channels[room].pins
        code, said = await _doctor(standin, url, tmp_path, "--repair")
        assert "✓ repair INC-1: set up" in said, said
        assert "token` will be unused" not in said  # Bolt's own note about SLACK_BOT_TOKEN is not shown
        assert hashi.standin.channels[room].pins

    code, said = await _doctor(standin, f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    assert code == 1 and "run `hashi db upgrade`" in said


async def test_doctor_tells_the_network_from_the_token_shows_every_check_and_creates_nothing(
    tmp_path: Path, slack_spec: ApiSpec
) -> None:
    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    nowhere = f"sqlite:///{tmp_path / 'hashi.db'}"  # what an unset HASHI_DATABASE_URL means in this folder
    try:
        refused, unreachable, app_token, unset = await asyncio.gather(
            _doctor(standin, nowhere, tmp_path, SLACK_BOT_TOKEN="xoxb-not-this-one"),
            _doctor(standin, nowhere, tmp_path, HASHI_SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/"),
            _doctor(standin, nowhere, tmp_path, SLACK_BOT_TOKEN=standin.app_token),
            _doctor(standin, nowhere, tmp_path, SLACK_BOT_TOKEN=""),
        )
    finally:
        await standin.stop()
    for code, said in (refused, unreachable, app_token, unset):
        assert code == 1, said
        shown = [line.split(":", 1)[0][2:] for line in said.splitlines()]
        assert shown == [
            "bot token",
            "mode",
            "web dashboard",
            "playbooks",
            "database",
            "slack token",
            "scopes",
            "announce channel",
        ], said
        assert f"✗ database: no database at {tmp_path / 'hashi.db'}" in said, said
    assert os.listdir(tmp_path) == []  # no empty database left behind

    assert "✓ bot token: set, a bot token (xoxb-…)" in refused[1]
    assert "✗ slack token: Slack refused SLACK_BOT_TOKEN (invalid_auth)" in refused[1]
    assert "- scopes: not checked: Slack refused the token" in refused[1]

    assert "✗ slack token: Slack did not answer at http://127.0.0.1:" in unreachable[1]
    assert "check the network, DNS and any proxy" in unreachable[1]
    assert "SLACK_BOT_TOKEN" not in unreachable[1].split("slack token:")[1].splitlines()[0]
    assert "- announce channel: not checked: Slack did not answer" in unreachable[1]

    assert "✗ bot token: SLACK_BOT_TOKEN holds an app-level token (xapp-…" in app_token[1]

    assert "✗ bot token: SLACK_BOT_TOKEN is not set" in unset[1]
    for name in ("slack token", "scopes", "announce channel"):
        assert f"- {name}: not checked: SLACK_BOT_TOKEN is not set" in unset[1], unset[1]
