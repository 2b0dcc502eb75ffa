"""Acknowledged means recorded: bursts of commands answered 200, then `kill -9` or SIGTERM, then a restart (or
another replica): every acknowledged command is in the record once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.incidents.ports import SystemClock
from bot.incidents.queries import load_snapshot
from standin.harness import ALICE, BOB, GENERAL, populate
from standin.limits import RateLimits
from standin.server import SlackStandIn
from standin.spec import ApiSpec
from storage.db import make_engine
from storage.inbox import DeliveryLog
from storage.migrate import upgrade
from storage.repository import Store
from tests.conftest import TABLES
from tests.e2e.serving import Served, free_port, serve, until

pytestmark = pytest.mark.slow

# This test floods on purpose: a burst of notes in one room. What the restarted replica resumes it replays one
# delivery after another, each once it is recorded; their lines follow in Slack, coalesced and paced at one
# message a second per channel (bot.incidents.effects.shown_behind). Each note waited for its own line before
# that, so the replay of 60 notes took 36 s at Slack's limits, the replica answering nothing meanwhile.
RESTARTED_WITHIN = 20.0  # seconds until the restarted replica answers /healthz (it replays first)


async def _notes(url: str, prefix: str) -> tuple[list[str], int]:
    """The incident's notes starting with `prefix`, and how many recorded deliveries are not done."""
    engine = make_engine(url)
    try:
        store = Store(engine)
        snap = await load_snapshot(store, incident_id=1)
        pending = await DeliveryLog(
            store, owner="test", lease=timedelta(0), now=SystemClock().now
        ).pending_count()
    finally:
        await engine.dispose()
    return [e.text for e in snap.timeline if e.text.startswith(prefix)], pending


async def _burst(
    served: Served, http: aiohttp.ClientSession, standin: SlackStandIn, room: str, texts: list[str]
) -> None:
    statuses = await asyncio.gather(
        *(served.command(http, standin, f"note {text}", user=BOB, channel=room) for text in texts)
    )
    assert set(statuses) == {200}  # every one acknowledged


async def _declared(served: Served, http: aiohttp.ClientSession, standin: SlackStandIn) -> str:
    assert (
        await served.command(http, standin, "declare SEV2 Burst then crash", user=ALICE, channel=GENERAL)
        == 200
    )
    await until(
        lambda: any(c.name.startswith("inc-1-") and c.pins for c in standin.channels.values()),
        within=15,
        what="the incident room",
    )
    return next(c.id for c in standin.channels.values() if c.name.startswith("inc-1-"))


@pytest.mark.parametrize(("how", "count"), [(signal.SIGKILL, 60), (signal.SIGTERM, 150)])
async def test_acknowledged_notes_survive_a_kill_or_a_stop(
    tmp_path: Path, slack_spec: ApiSpec, how: signal.Signals, count: int
) -> None:
    standin = SlackStandIn(spec=slack_spec, rate_limits=RateLimits())
    await standin.start()
    populate(standin)
    url, port, secret = f"sqlite:///{tmp_path / 'durable.db'}", free_port(), "durable-secret"
    env = {"HASHI_REPLICA_ID": "replica-a"}
    texts = [f"finding {n:03d}" for n in range(count)]
    try:
        first = await serve(
            standin, database_url=url, workdir=tmp_path, port=port, secret=secret, extra_env=env
        )
        async with aiohttp.ClientSession() as http:
            await first.wait_healthy(http)
            room = await _declared(first, http, standin)
            await _burst(first, http, standin, room, texts)
            code, stderr = await first.stop(how)  # at once: the work after the acks is still under way
            if how == signal.SIGTERM:
                assert code == 0, stderr[-2000:]
            stored_at_stop, _ = await _notes(url, "finding ")
            second = await serve(
                standin, database_url=url, workdir=tmp_path, port=port, secret=secret, extra_env=env
            )
            try:
                restarted = time.monotonic()
                await second.wait_healthy(http, within=60)
                replayed_in = time.monotonic() - restarted
                for _ in range(200):
                    stored, pending = await _notes(url, "finding ")
                    if len(stored) >= count and pending == 0:
                        break
                    await asyncio.sleep(0.1)
            finally:
                code, stderr = await second.stop()
            assert code == 0, stderr[-2000:]
        stored, pending = await _notes(url, "finding ")
        assert sorted(stored) == texts, (len(stored_at_stop), len(stored))  # each once, none lost
        assert pending == 0
        assert replayed_in < RESTARTED_WITHIN, replayed_in
        assert standin.rejections == []
    finally:
        await standin.stop()


async def test_a_replica_killed_mid_burst_is_taken_over_by_the_other(
    postgres_url: str, tmp_path: Path, slack_spec: ApiSpec
) -> None:
    engine = make_engine(postgres_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    await engine.dispose()
    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    secret, config = "replicas-secret", "delivery_lease_seconds = 5\n"
    replicas: list[Served] = []
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
                    config=config,
                    extra_env={"HASHI_REPLICA_ID": f"replica-{name}"},
                )
            )
        a, b = replicas
        texts = [f"finding {n:03d}" for n in range(80)]
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(r.wait_healthy(http) for r in replicas))
            room = await _declared(a, http, standin)
            await asyncio.gather(
                _burst(a, http, standin, room, texts[0::2]), _burst(b, http, standin, room, texts[1::2])
            )
            await a.stop(signal.SIGKILL)
            for _ in range(300):  # b takes over a's deliveries once a's claims run out
                stored, pending = await _notes(postgres_url, "finding ")
                if len(stored) >= len(texts) and pending == 0:
                    break
                await asyncio.sleep(0.1)
        code, stderr = await b.stop()
        assert code == 0, stderr[-2000:]
        stored, pending = await _notes(postgres_url, "finding ")
        assert sorted(stored) == texts and pending == 0
        assert standin.rejections == []
    finally:
        for replica in replicas:
            if replica.process.returncode is None:
                await replica.stop(signal.SIGKILL)
        await standin.stop()


@pytest.mark.parametrize(
    "method", ["chat.postMessage", "pins.add", "conversations.setTopic", "chat.scheduleMessage"]
)
async def test_a_set_up_killed_mid_call_is_finished_once_by_the_restarted_replica(
    tmp_path: Path, slack_spec: ApiSpec, method: str
) -> None:
    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    url, port, secret = f"sqlite:///{tmp_path / 'setup.db'}", free_port(), "setup-secret"
    env = {"HASHI_REPLICA_ID": "replica-a"}
    try:
        first = await serve(
            standin, database_url=url, workdir=tmp_path, port=port, secret=secret, extra_env=env
        )
        async with aiohttp.ClientSession() as http:
            await first.wait_healthy(http)
            standin.fail_next(method, status=200, hang=3.0)  # in flight when the process dies; done later
            assert (
                await first.command(
                    http, standin, "declare SEV1 Killed mid set-up", user=ALICE, channel=GENERAL
                )
                == 200
            )
            await until(lambda: standin.in_flight > 0, within=10, what=f"{method} in flight")
            await asyncio.sleep(0.3)  # the set-up's other calls answered (the stand-in answers at once)
            await first.stop(signal.SIGKILL)
            await asyncio.sleep(3.2)  # the hung call takes effect after the process died
            second = await serve(
                standin, database_url=url, workdir=tmp_path, port=port, secret=secret, extra_env=env
            )
            try:
                await second.wait_healthy(http, within=60)
                # Its own interrupted set-up resumes at start, not after the two-minute lease.
                await until(
                    lambda: any(c.name.startswith("inc-1-") and c.pins for c in standin.channels.values()),
                    within=20,
                    what="the finished room",
                )
                await asyncio.sleep(1.0)
            finally:
                code, stderr = await second.stop()
            assert code == 0, stderr[-2000:]
        (room,) = [c for c in standin.channels.values() if c.name.startswith("inc-1-")]
        cards = [m for m in room.messages if str(m.get("text", "")).startswith("INC-1 [")]
        checklists = [m for m in room.messages if m.get("text") == "Checklists of INC-1"]
        assert len(cards) == 1 and room.pins == [cards[0]["ts"]], (len(cards), room.pins)
        assert len(checklists) == 1
        engine = make_engine(url)
        try:
            async with Store(engine).transaction() as repo:
                recorded = {r.scheduled_message_id for r in await repo.reminders(incident_id=1)}
                incomplete = await repo.incidents_needing_setup()
        finally:
            await engine.dispose()
        assert incomplete == []
        assert recorded == {m.id for m in standin.scheduled.values() if m.channel_id == room.id}
        assert standin.rejections == []
    finally:
        await standin.stop()
