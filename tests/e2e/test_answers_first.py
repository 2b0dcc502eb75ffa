"""Answers first: under a burst, Hashi acknowledges every request before it does the work they ask for,
and the work still all happens (no note lost, none twice)."""

from __future__ import annotations

import asyncio
import time

from standin.harness import ALICE, BOB, GENERAL, Hashi
from storage.repository import Store


async def _declare(hashi: Hashi) -> str:
    await hashi.driver.command("declare SEV2 Burst of clicks", user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-"), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()
    return str(room)


async def _notes(hashi: Hashi) -> list[str]:
    """The notes in incident 1's timeline, read without yielding to answers (as an operator would)."""
    async with Store(hashi.runtime.store.engine).transaction() as repo:
        events = await repo.events(incident_id=1)
    return [str(e["text"]) for e in events if e["kind"] == "note"]


async def _until_notes(hashi: Hashi, expected: list[str], *, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while sorted(await _notes(hashi)) != sorted(expected):
        assert time.monotonic() < deadline, f"notes {sorted(await _notes(hashi))} != {sorted(expected)}"
        await asyncio.sleep(0.05)


async def test_work_waits_while_another_request_waits_for_its_answer(hashi: Hashi) -> None:
    room = await _declare(hashi)
    with hashi.runtime.turns.answering():  # another request, not answered yet
        started = time.monotonic()
        sent = await hashi.driver.command("note first the answers", user_id=BOB, channel_id=room)
        assert sent.status == 200 and time.monotonic() - started < 0.5
        await asyncio.sleep(0.3)
        assert await _notes(hashi) == []  # acknowledged, not yet done
    await _until_notes(hashi, ["first the answers"], within=0.5)


async def test_work_goes_on_when_answers_never_stop(hashi: Hashi) -> None:
    room = await _declare(hashi)
    with hashi.runtime.turns.answering():  # a request that never gets its answer
        await hashi.driver.command("note patience has a limit", user_id=BOB, channel_id=room)
        await _until_notes(hashi, ["patience has a limit"], within=hashi.runtime.turns.patience + 2)


async def test_a_burst_is_all_acknowledged_and_all_done(hashi: Hashi) -> None:
    room = await _declare(hashi)
    texts = [f"burst note {n}" for n in range(60)]
    sent = await asyncio.gather(
        *(hashi.driver.command(f"note {text}", user_id=BOB, channel_id=room) for text in texts)
    )
    assert [s.status for s in sent] == [200] * len(texts)
    await _until_notes(hashi, texts, within=30)
    await hashi.settle()
    assert sorted(await _notes(hashi)) == sorted(texts)  # each once
