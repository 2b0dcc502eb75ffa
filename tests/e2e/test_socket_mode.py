"""Socket Mode: the same app over a WebSocket from apps.connections.open, for a command and a button."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from bot.runtime import build_runtime
from bot.settings import EnvSettings, Settings, TeamConfig
from bot.slack.app import run_socket_mode
from bot.slack.ids import Action
from standin.harness import ALICE, BOB, GENERAL, Hashi, populate
from standin.server import SlackStandIn
from standin.spec import ApiSpec


async def test_command_and_button_over_socket_mode(tmp_path: Path, slack_spec: ApiSpec) -> None:
    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    env = EnvSettings(
        SLACK_BOT_TOKEN=standin.bot_token,
        SLACK_APP_TOKEN=standin.app_token,
        HASHI_DATABASE_URL=f"sqlite:///{tmp_path / 'socket.db'}",
        HASHI_SLACK_API_URL=standin.api_url,
    )
    runtime = await build_runtime(Settings(env=env, team=TeamConfig()))
    connection = asyncio.create_task(run_socket_mode(runtime.app, app_token=standin.app_token))
    try:
        await standin.wait_socket_connected(timeout=10)
        driver_like = Hashi(standin=standin, driver=None, settings=runtime.settings, url="", runtime=runtime)  # type: ignore[arg-type]
        command = {
            "token": "unused",
            "team_id": standin.team_id,
            "team_domain": "standin",
            "channel_id": GENERAL,
            "channel_name": "general",
            "user_id": ALICE,
            "user_name": "alice",
            "command": "/incident",
            "text": "declare SEV1 Socket mode outage",
            "api_app_id": standin.app_id,
            "is_enterprise_install": "false",
            "response_url": standin.response_url(channel=GENERAL),
            "trigger_id": "1.2.socket",
        }
        ack = await standin.socket_send("slash_commands", command, timeout=5)
        assert "envelope_id" in ack
        room = await driver_like.eventually(lambda: driver_like.channel_named("inc-1-"), what="the channel")
        await driver_like.eventually(lambda: standin.channels[room].pins, what="the pinned card")
        await driver_like.settle()
        card = driver_like.card(room)
        button = {
            "type": "block_actions",
            "user": {"id": BOB, "username": "bob", "name": "bob", "team_id": standin.team_id},
            "api_app_id": standin.app_id,
            "token": "unused",
            "trigger_id": "1.3.socket",
            "container": {
                "type": "message",
                "message_ts": card["ts"],
                "channel_id": room,
                "is_ephemeral": False,
            },
            "team": {"id": standin.team_id, "domain": "standin"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": room, "name": standin.channels[room].name},
            "message": card,
            "state": {"values": {}},
            "response_url": standin.response_url(channel=room),
            "actions": [
                {
                    "action_id": Action.ACK,
                    "block_id": "hashi_card_actions",
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "value": "1",
                    "action_ts": "1.4",
                }
            ],
        }
        await standin.socket_send("interactive", button, timeout=5)
        await driver_like.eventually(
            lambda: Action.ACK not in json.dumps(driver_like.card(room)), what="the acknowledged card"
        )
        snap = await runtime.service.snapshot(incident_id=1)
        assert snap.milestones.acknowledged_at is not None
        assert standin.rejections == []
    finally:
        connection.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connection
        await runtime.close()
        await standin.stop()
