"""A stop lets the work in hand end before the database pool goes: the showing of a burst of changes, paced at
one message a second per channel, is still under way when the last request has been answered."""

from __future__ import annotations

import asyncio

from bot.incidents.effects import LINE_INTERVAL
from standin.harness import ALICE, GENERAL, running_hashi
from standin.spec import ApiSpec


async def test_a_stop_shows_a_paced_burst_and_leaves_no_connection_open(
    database_url: str, slack_spec: ApiSpec
) -> None:
    notes = [f"finding {n}" for n in range(4)]
    # Slack answering in 0.2 s: the first note is still being shown when the others come, so they are paced.
    async with running_hashi(database_url=database_url, spec=slack_spec, latency=0.2) as hashi:
        await hashi.driver.command("declare SEV3 Burst then stop", user_id=ALICE, channel_id=GENERAL)
        room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the incident's channel")
        await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
        await hashi.settle()
        for note in notes:
            await hashi.driver.command(f"note {note}", user_id=ALICE, channel_id=room)
    shown = "\n".join(str(m.get("text", "")) for m in hashi.messages(room))
    assert [note for note in notes if note not in shown] == []  # shown before the stop, not after it
    # Nothing opened a connection after the engine was disposed (one left in the new pool is never closed:
    # on PostgreSQL its socket was garbage-collected later, with a ResourceWarning in some other test).
    await asyncio.sleep(LINE_INTERVAL + 0.5)
    pool = hashi.runtime.store.engine.pool
    assert (pool.checkedin(), pool.checkedout()) == (0, 0), pool.status()
