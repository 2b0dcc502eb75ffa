"""On SQLite one transaction writes at a time: a process's own transactions take turns in arrival order,
and another process (a second engine on the same file) waits for the write lock in asyncio sleeps, up to
the busy timeout (storage.sqlite_inline), while the event loop goes on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage import sqlite_inline
from storage.db import make_engine
from storage.repository import Store, Turns


async def test_transactions_of_one_process_take_turns_in_arrival_order(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    store = Store(engine)
    entered: list[str] = []
    holding = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with store.transaction() as repo:
            await repo.session.execute(text("UPDATE incident SET revision = revision WHERE 0"))
            entered.append("holder")
            holding.set()
            await release.wait()

    async def writer(name: str) -> None:
        async with store.transaction() as repo:
            await repo.session.execute(text("UPDATE incident SET revision = revision WHERE 0"))
            entered.append(name)  # it holds SQLite's write lock now (BEGIN IMMEDIATE ran)

    try:
        first = asyncio.create_task(holder())
        await holding.wait()
        names = [f"w{i}" for i in range(8)]
        writers = []
        for name in names:  # they arrive 10 ms apart, while the holder keeps the write lock
            writers.append(asyncio.create_task(writer(name)))
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.25)
        assert entered == ["holder"]
        release.set()
        await asyncio.wait_for(asyncio.gather(first, *writers), timeout=10)
        assert entered == ["holder", *names]
    finally:
        release.set()
        await engine.dispose()


@asynccontextmanager
async def _write_lock_held_by_another_process(sqlite_url: str) -> AsyncIterator[tuple[Store, asyncio.Event]]:
    """A second engine on the same file (another process, to SQLite) holds the write lock until the event
    it yields is set; yields a store of this process's own and that event."""
    ours, theirs = make_engine(sqlite_url), make_engine(sqlite_url)
    release, holding = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with Store(ours).transaction() as repo:
            await repo.session.execute(text("UPDATE incident SET revision = revision WHERE 0"))
            holding.set()
            await release.wait()

    first = asyncio.create_task(holder())
    try:
        await holding.wait()
        yield Store(theirs), release
        release.set()
        await first
    finally:
        release.set()
        await ours.dispose()
        await theirs.dispose()


async def test_another_process_waits_for_the_write_lock_instead_of_failing(sqlite_url: str) -> None:
    async with _write_lock_held_by_another_process(sqlite_url) as (store, release):
        loop = asyncio.get_running_loop()
        asked = loop.time()
        waiting = asyncio.create_task(store.revision(incident_id=1))
        ticks = 0
        for _ in range(30):  # the loop keeps running while it waits (asyncio sleeps, not SQLite's handler)
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 30
        assert not waiting.done()  # still waiting, no "database is locked"
        release.set()
        assert await asyncio.wait_for(waiting, timeout=10) is None
        assert loop.time() - asked >= 0.3


async def test_urgent_turns_go_before_waiting_ones() -> None:
    turns, order = Turns(), []
    held = asyncio.Event()

    async def holder() -> None:
        async with turns.take():
            held.set()
            await asyncio.sleep(0.05)

    async def waiter(name: str, *, urgent: bool) -> None:
        async with turns.take(urgent=urgent):
            order.append(name)

    first = asyncio.create_task(holder())
    await held.wait()
    others = [asyncio.create_task(waiter(f"work {n}", urgent=False)) for n in range(3)]
    await asyncio.sleep(0.01)
    inbox = asyncio.create_task(waiter("inbox", urgent=True))
    await asyncio.gather(first, *others, inbox)
    assert order == ["inbox", "work 0", "work 1", "work 2"]


async def test_a_lock_held_past_the_busy_timeout_is_an_error(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_TIMEOUT", 0.2)
    async with _write_lock_held_by_another_process(sqlite_url) as (store, _):
        with pytest.raises(OperationalError, match="database is locked"):
            await store.revision(incident_id=1)
