"""The durable inbox's table on SQLite and PostgreSQL: recorded once, group commits, claims, hand-backs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage.inbox import MAX_ATTEMPTS, Arrival, DeliveryLog
from storage.repository import Store
from tests.fakes import FixedClock

LEASE = timedelta(seconds=60)


def _log(store: Store, clock: FixedClock, owner: str = "r1") -> DeliveryLog:
    return DeliveryLog(store, owner=owner, lease=LEASE, now=clock.now)


async def test_a_delivery_is_recorded_once_and_a_burst_shares_commits(
    store: Store, clock: FixedClock
) -> None:
    log = _log(store, clock)
    same = await asyncio.gather(
        *(log.record(Arrival(delivery_id="event:Ev1", kind="event", body="{}")) for _ in range(6))
    )
    assert [new for new, _ in same].count(True) == 1
    before = log.batches
    burst = await asyncio.gather(
        *(log.record(Arrival(delivery_id=f"command:{n}", kind="command", body="{}")) for n in range(50))
    )
    assert all(new for new, _ in burst)
    assert log.batches - before < 50  # arrivals that came together were committed together
    assert await log.pending_count() == 51
    # Finishing them (the work of each done) goes the same way: all done, in fewer commits than deliveries.
    finished = log.finishes
    await asyncio.gather(*(log.finish(f"command:{n}") for n in range(50)), log.finish("command:0"))
    assert log.finishes - finished < 50
    assert await log.pending_count() == 1


async def test_a_recorded_delivery_is_claimed_by_one_replica_after_its_lease(
    store: Store, clock: FixedClock
) -> None:
    first, second = _log(store, clock, "r1"), _log(store, clock, "r2")
    await first.record(Arrival(delivery_id="command:a", kind="command", body='{"text": "note x"}'))
    assert await second.claim_pending() == []  # r1's claim still holds
    clock.advance(seconds=61)
    claimed = await asyncio.gather(second.claim_pending(), _log(store, clock, "r3").claim_pending())
    assert sorted(len(c) for c in claimed) == [0, 1]
    (pending,) = [p for c in claimed for p in c]
    assert (pending.delivery_id, pending.kind, pending.body) == ("command:a", "command", '{"text": "note x"}')


async def test_a_restarted_replica_takes_back_its_own_at_once(store: Store, clock: FixedClock) -> None:
    await _log(store, clock, "r1").record(Arrival(delivery_id="command:b", kind="command", body="{}"))
    clock.advance(seconds=2)
    restarted = _log(store, clock, "r1")
    assert [p.delivery_id for p in await restarted.claim_pending(mine_since=clock.now())] == ["command:b"]
    assert await _log(store, clock, "r2").claim_pending() == []


async def test_work_handed_back_at_a_stop_is_taken_at_once(store: Store, clock: FixedClock) -> None:
    stopping = _log(store, clock, "r1")
    await stopping.record(Arrival(delivery_id="command:c", kind="command", body="{}"))
    assert await stopping.hand_back(["command:c"]) == 1
    assert [p.delivery_id for p in await _log(store, clock, "r2").claim_pending()] == ["command:c"]


async def test_deliveries_resume_oldest_first_and_finished_ones_are_not_resumed(
    store: Store, clock: FixedClock
) -> None:
    log = _log(store, clock)
    for n in range(5):
        await log.record(Arrival(delivery_id=f"command:{n}", kind="command", body="{}"))
        clock.advance(milliseconds=5)
    await log.finish("command:2")
    await log.hand_back([f"command:{n}" for n in range(5)])
    assert [p.delivery_id for p in await log.claim_pending()] == [
        "command:0",
        "command:1",
        "command:3",
        "command:4",
    ]


async def test_a_delivery_that_keeps_failing_is_set_aside(store: Store, clock: FixedClock) -> None:
    log = _log(store, clock)
    await log.record(Arrival(delivery_id="command:d", kind="command", body="{}"))
    outcomes = [await log.failed("command:d", reason="KeyError: 'x'") for _ in range(MAX_ATTEMPTS)]
    assert outcomes == [False] * (MAX_ATTEMPTS - 1) + [True]
    assert await log.pending_count() == 0


async def test_old_finished_deliveries_are_forgotten(store: Store, clock: FixedClock) -> None:
    log = _log(store, clock)
    await log.record(Arrival(delivery_id="command:e", kind="command", body="{}"))
    await log.finish("command:e")
    clock.advance(days=2)
    assert await log.prune(older_than=timedelta(days=1)) == 1
    assert (await log.record(Arrival(delivery_id="command:e", kind="command", body="{}")))[0]
