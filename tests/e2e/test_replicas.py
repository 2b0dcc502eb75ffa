"""Two `hashi serve --http` replicas on one PostgreSQL database behave as one bot: the same deliveries
sent to both, concurrently and many times, take effect once; an incident driven across both stays whole."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest

from bot.incidents.queries import load_snapshot
from bot.slack.ids import Action
from standin.driver import SlackDriver
from standin.harness import ALICE, ANNOUNCE, BOB, CAROL, GENERAL, populate
from standin.server import SlackStandIn
from standin.spec import ApiSpec
from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import Store
from tests.conftest import TABLES
from tests.e2e.serving import Served, free_port, serve

ROUNDS = 10  # each delivery is sent this many times to each replica, all at once


async def _fresh(url: str) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    await engine.dispose()


async def _everywhere(drivers: list[SlackDriver], body: str, content_type: str, **kwargs: Any) -> list[int]:
    """Sends one delivery to every replica ROUNDS times, all at once; returns the HTTP statuses."""
    sends: list[Awaitable[Any]] = [
        d.post(body, content_type, **kwargs) for _ in range(ROUNDS) for d in drivers
    ]
    return [sent.status for sent in await asyncio.gather(*sends)]


async def _until(check: Any, *, within: float = 15, what: str) -> Any:
    for _ in range(int(within / 0.05)):
        found = check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
async def test_two_replicas_act_as_one(postgres_url: str, tmp_path: Path, slack_spec: ApiSpec) -> None:
    await _fresh(postgres_url)
    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    secret = "replica-secret"
    replicas: list[Served] = []
    drivers_open = contextlib.AsyncExitStack()
    try:
        for name in ("a", "b"):
            workdir = tmp_path / name
            workdir.mkdir()
            replicas.append(
                await serve(
                    standin,
                    database_url=postgres_url,
                    workdir=workdir,
                    port=free_port(),
                    secret=secret,
                    extra_env={"HASHI_ANNOUNCE_CHANNEL": ANNOUNCE},
                )
            )
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(r.wait_healthy(http) for r in replicas))
        drivers = [
            SlackDriver(url=f"{r.base}/slack/events", signing_secret=secret, standin=standin)
            for r in replicas
        ]
        for driver in drivers:
            await drivers_open.enter_async_context(driver)
        a, b = drivers
        form = "application/x-www-form-urlencoded"

        # One declaration, delivered 2 x ROUNDS times at once: one incident, one channel, one card.
        declare = urlencode(
            a.command_body("declare SEV3 Replicated outage", user_id=ALICE, channel_id=GENERAL)
        )
        assert set(await _everywhere(drivers, declare, form)) == {200}
        room = await _until(
            lambda: next(
                (c for c in standin.channels.values() if c.name.startswith("inc-") and c.pins), None
            ),
            what="the room",
        )
        await asyncio.sleep(1.0)
        assert len([c for c in standin.channels.values() if c.name.startswith("inc-")]) == 1
        assert len(standin.channels[ANNOUNCE].messages) == 1
        waiting = [s for s in standin.scheduled.values() if s.channel_id == room.id]
        assert len(waiting) == 2, [s.text for s in waiting]  # the next SEV3 status update and its escalation

        # Commands alternate between the replicas, several at once.
        await asyncio.gather(
            a.command(f"lead <@{BOB}|bob>", user_id=ALICE, channel_id=room.id),
            b.command("note first finding", user_id=CAROL, channel_id=room.id),
            a.command("note second finding", user_id=BOB, channel_id=room.id),
        )
        await b.command("status identified Bad config push", user_id=BOB, channel_id=room.id)
        await _until(
            lambda: ":bulb: Identified" in json.dumps(next(m for m in room.messages if m["ts"] in room.pins)),
            what="identified on the card",
        )

        # A pin event, and a button click, each delivered many times to both.
        message = standin.add_message(room.id, user=CAROL, text="Config diff attached")
        pin = a.event_body(
            {
                "type": "pin_added",
                "user": CAROL,
                "channel_id": room.id,
                "event_ts": message["ts"],
                "item": {"type": "message", "channel": room.id, "message": message},
            },
            event_id="EvREPLICAPIN",
        )
        assert set(await _everywhere(drivers, json.dumps(pin), "application/json")) == {200}
        card = next(m for m in room.messages if m["ts"] in room.pins)
        click = a.block_actions(
            user_id=BOB,
            channel_id=room.id,
            message=card,
            action={
                "action_id": Action.STATUS,
                "block_id": "hashi_card_actions",
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Monitoring"},
                    "value": "monitoring",
                },
            },
        )
        assert set(await _everywhere(drivers, "payload=" + quote(json.dumps(click)), form)) == {200}
        await _until(
            lambda: ":eyes: Monitoring" in json.dumps(next(m for m in room.messages if m["ts"] in room.pins)),
            what="the click's status on the card",
        )
        await b.command("resolve Rolled back the push", user_id=BOB, channel_id=room.id)
        await asyncio.sleep(1.5)
    finally:
        await drivers_open.aclose()
        outcomes = [await r.stop() for r in replicas]
        await standin.stop()
    assert [code for code, _ in outcomes] == [0, 0], [err[-1500:] for _, err in outcomes]

    engine = make_engine(postgres_url)
    try:
        store = Store(engine)
        snap = await load_snapshot(store, incident_id=1)
        async with store.transaction() as repo:
            assert len(await repo.incidents()) == 1
    finally:
        await engine.dispose()
    kinds = [e.kind for e in snap.timeline]
    texts = [e.text for e in snap.timeline]
    assert kinds.count("declared") == 1 and texts.count("Config diff attached") == 1
    # the click, delivered 2 x ROUNDS times, moved the status once
    assert sum(1 for e in snap.timeline if e.text.startswith("Status identified → monitoring")) == 1, texts
    assert {"first finding", "second finding"} <= set(texts)
    assert snap.lead == BOB and snap.status.value == "resolved"
    assert not [s for s in standin.scheduled.values() if s.channel_id == room.id]  # resolving cancelled them
    assert standin.rejections == []
