"""AckFirst: work waits while requests wait for their answer, within a bounded budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.slack.turns import AckFirst

T = TypeVar("T")


async def test_nothing_waiting_means_no_wait() -> None:
    turns = AckFirst(patience=5)
    started = time.monotonic()
    await turns.after_ack()
    await turns.pause()
    assert time.monotonic() - started < 0.05


async def test_work_goes_on_when_the_last_answer_is_ready() -> None:
    turns = AckFirst(patience=5)
    order: list[str] = []

    async def work() -> None:
        await turns.after_ack()
        order.append("work")

    with turns.answering(), turns.answering():
        task = asyncio.ensure_future(work())
        await asyncio.sleep(0.05)
        assert turns.waiting == 2 and order == []
    await asyncio.wait_for(task, 1)
    assert order == ["work"] and turns.waiting == 0


async def _while_another_waits(turns: AckFirst, work: Callable[[], Awaitable[T]]) -> T:
    """Runs `work` in a task of its own while another request waits for an answer that never comes."""
    go = asyncio.Event()

    async def when_told() -> T:
        await go.wait()
        return await work()

    task = asyncio.ensure_future(when_told())  # its context is copied now: no request of the other's in it
    with turns.answering():
        go.set()
        return await task


async def test_a_requests_work_yields_at_most_patience_in_all() -> None:
    turns = AckFirst(patience=0.2)

    async def work() -> float:  # another request is never answered: work must still go on
        started = time.monotonic()
        await turns.after_ack()
        await turns.pause()
        await turns.pause()
        return time.monotonic() - started

    spent = await _while_another_waits(turns, work)
    assert 0.15 < spent < 0.5


async def test_a_second_after_ack_keeps_the_requests_budget() -> None:
    turns = AckFirst(patience=0.2)

    async def request_work() -> float:
        started = time.monotonic()
        await turns.after_ack()
        await turns.after_ack()  # a listener whose helper acks its turn again (events: first_delivery)
        return time.monotonic() - started

    spent = await _while_another_waits(turns, request_work)
    assert 0.15 < spent < 0.35


async def test_each_requests_budget_is_its_own() -> None:
    turns = AckFirst(patience=0.2)

    async def request_work() -> float:
        await asyncio.sleep(0)
        started = time.monotonic()
        await turns.after_ack()
        await turns.pause()
        return time.monotonic() - started

    async def two_requests() -> tuple[float, float]:
        first = await asyncio.ensure_future(request_work())
        second = await asyncio.ensure_future(request_work())
        return first, second

    first, second = await _while_another_waits(turns, two_requests)
    assert 0.15 < first < 0.5 and 0.15 < second < 0.5


async def test_work_outside_a_request_waits_patience_each_time() -> None:
    turns = AckFirst(patience=0.1)

    async def work() -> float:
        started = time.monotonic()
        await turns.pause()
        await turns.pause()
        return time.monotonic() - started

    spent = await _while_another_waits(turns, work)
    assert 0.18 < spent < 0.5


async def test_a_requests_work_does_not_wait_for_its_own_answer() -> None:
    turns = AckFirst(patience=5)

    async def request_work() -> float:
        started = time.monotonic()
        await turns.after_ack()
        await turns.pause()
        return time.monotonic() - started

    with turns.answering():  # Bolt sends this request's answer once it sees the ack: up to 10 ms later
        spent = await asyncio.ensure_future(request_work())
    assert spent < 0.05


async def test_an_answer_that_raises_is_still_counted_out() -> None:
    turns = AckFirst()
    try:
        with turns.answering():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert turns.waiting == 0
    await asyncio.wait_for(turns.pause(), 0.05)
