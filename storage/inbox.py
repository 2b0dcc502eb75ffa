"""The durable inbox's table: deliveries recorded before their ack (group commit), claimed, handed back.

Slack never sends an acknowledged request again, so a delivery is in the database before Hashi answers it.
Requests that arrive together share one commit: while one batch is being written, the next ones gather, so a
burst does not queue one insert at a time behind SQLite's single writer. The change a delivery asked for
marks it done in its own transaction (Repository.complete_delivery), and work that changes nothing (help, a
list, a modal opened) is marked done in a group commit too; what is recorded and not done is resumed by
whoever holds its claim, or by anyone once the claim has run out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Generic, TypeVar

from sqlalchemy import Executable, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from storage.models import ProcessedDelivery
from storage.repository import Store

# A delivery that failed this many times (a bug, not a passing fault) is set aside with its error.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Arrival:
    """A delivery as it arrives: its id, its kind, and what Slack sent (JSON text)."""

    delivery_id: str
    kind: str
    body: str


@dataclass(frozen=True)
class Pending:
    """A recorded delivery whose work is not done."""

    delivery_id: str
    kind: str
    received_at: datetime
    body: str
    attempts: int


@cache
def _record(dialect: str) -> Executable:
    """The insert of arrivals (built once; run with every row of a batch), skipping ones already stored."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ProcessedDelivery).on_conflict_do_nothing(index_elements=["delivery_id"])
    return stmt.returning(col(ProcessedDelivery.delivery_id))


T = TypeVar("T")
R = TypeVar("R")

_FINISH = (
    update(ProcessedDelivery)
    .where(
        col(ProcessedDelivery.delivery_id) == bindparam("delivery"), col(ProcessedDelivery.done_at).is_(None)
    )
    .values(done_at=bindparam("at"), body=None, claimed_until=None, outcome=bindparam("outcome"))
)


class GroupCommit(Generic[T, R]):
    """Writes what arrives together in one transaction: while a batch is being written the next items gather,
    so a burst does not queue one commit at a time behind SQLite's single writer. `write` gets a batch and
    returns one result per item, in order; each `submit` returns its item's result once that is committed."""

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self._write = write
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # commits made (fewer than items under a burst)

    async def submit(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_batches())
        return await done

    async def _write_batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as exc:  # the database did not take them: each submitter learns it
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self.batches += 1
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)


class DeliveryLog:
    """Records, claims and finishes deliveries for one replica (`owner`)."""

    def __init__(self, store: Store, *, owner: str, lease: timedelta, now: Callable[[], datetime]) -> None:
        self.store = store
        self.owner = owner
        self.lease = lease
        self._now = now
        self._arrivals = GroupCommit(self._insert)
        self._finishing = GroupCommit(self._finish)

    @property
    def batches(self) -> int:
        """Commits made for arrivals (group commit: fewer than arrivals under a burst)."""
        return self._arrivals.batches

    @property
    def finishes(self) -> int:
        """Commits made for finishing deliveries (as for arrivals)."""
        return self._finishing.batches

    async def record(self, arrival: Arrival) -> tuple[bool, datetime]:
        """Writes the delivery, claimed by this replica, and returns once it is committed: (True, when it
        was received), or (False, …) when it was recorded already (Slack's retry, another replica)."""
        received = self._now()
        return await self._arrivals.submit((arrival, received)), received

    async def _insert(self, batch: list[tuple[Arrival, datetime]]) -> list[bool]:
        rows = [
            {
                "delivery_id": arrival.delivery_id,
                "kind": arrival.kind,
                "received_at": received,
                "body": arrival.body,
                "claimed_by": self.owner,
                "claimed_until": received + self.lease,
                "attempts": 0,
                "outcome": "",
            }
            for arrival, received in batch
        ]
        async with self.store.connection() as conn:
            new = {str(row[0]) for row in await conn.execute(_record(conn.dialect.name), rows)}
        seen: set[str] = set()
        first: list[bool] = []
        for arrival, _ in batch:  # the same delivery twice in one batch: the first of them is the new one
            first.append(arrival.delivery_id in new and arrival.delivery_id not in seen)
            seen.add(arrival.delivery_id)
        return first

    async def claim_pending(self, *, mine_since: datetime | None = None, limit: int = 200) -> list[Pending]:
        """Claims recorded deliveries not done whose claim has run out, and this replica's own from before
        `mine_since` (an earlier life of it: nothing of its own from then is in flight), oldest first."""
        now = self._now()
        table = ProcessedDelivery
        free = [col(table.claimed_until).is_(None), col(table.claimed_until) < now]
        if mine_since is not None:
            free.append((col(table.claimed_by) == self.owner) & (col(table.received_at) < mine_since))
        candidates = (
            select(col(table.delivery_id))
            .where(col(table.done_at).is_(None), or_(*free))
            .order_by(col(table.received_at), col(table.delivery_id))
            .limit(limit)
        )
        claimed: list[Pending] = []
        async with self.store.connection() as conn:
            ids = [str(row[0]) for row in await conn.execute(candidates)]
            for delivery_id in ids:
                # Claimed one by one, each only if it is still free, so two replicas never take the same one.
                stmt = (
                    update(table)
                    .where(col(table.delivery_id) == delivery_id, col(table.done_at).is_(None), or_(*free))
                    .values(claimed_by=self.owner, claimed_until=now + self.lease)
                    .returning(col(table.kind), col(table.received_at), col(table.body), col(table.attempts))
                )
                row = (await conn.execute(stmt)).one_or_none()
                if row is not None:
                    claimed.append(
                        Pending(
                            delivery_id=delivery_id,
                            kind=str(row[0]),
                            received_at=row[1],
                            body=str(row[2] or "{}"),
                            attempts=int(row[3]),
                        )
                    )
        return claimed

    async def finish(self, delivery_id: str, *, outcome: str = "done") -> None:
        """Marks a delivery done (a no-op when its change already did); finishes that come together share
        one commit."""
        await self._finishing.submit((delivery_id, outcome[:255]))

    async def _finish(self, batch: list[tuple[str, str]]) -> list[None]:
        at = self._now()
        rows = [{"delivery": delivery_id, "outcome": outcome, "at": at} for delivery_id, outcome in batch]
        async with self.store.connection() as conn:
            await conn.execute(_FINISH, rows)
        return [None] * len(batch)

    async def failed(self, delivery_id: str, *, reason: str) -> bool:
        """Counts a failed attempt; after MAX_ATTEMPTS the delivery is set aside (done, with the reason).
        Returns whether it was set aside."""
        table = ProcessedDelivery
        async with self.store.connection() as conn:
            stmt = (
                update(table)
                .where(col(table.delivery_id) == delivery_id, col(table.done_at).is_(None))
                .values(attempts=col(table.attempts) + 1, outcome=reason[:255])
                .returning(col(table.attempts))
            )
            attempts = (await conn.execute(stmt)).scalar_one_or_none()
            if attempts is None or attempts < MAX_ATTEMPTS:
                return False
            await conn.execute(
                update(table)
                .where(col(table.delivery_id) == delivery_id)
                .values(done_at=self._now(), claimed_until=None, outcome=f"failed: {reason}"[:255])
            )
            return True

    async def hand_back(self, delivery_ids: Sequence[str]) -> int:
        """Gives up this replica's claim on deliveries it will not finish (a stop), so another replica, or
        this one's next life, takes them at once; returns how many."""
        if not delivery_ids:
            return 0
        table = ProcessedDelivery
        stmt = (
            update(table)
            .where(
                col(table.delivery_id).in_(list(delivery_ids)),
                col(table.done_at).is_(None),
                col(table.claimed_by) == self.owner,
            )
            .values(claimed_until=None)
        )
        async with self.store.connection() as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount)

    async def prune(self, *, older_than: timedelta) -> int:
        """Forgets deliveries done long ago (Slack retries within minutes); returns how many."""
        table = ProcessedDelivery
        before = self._now() - older_than
        stmt = delete(table).where(col(table.done_at).is_not(None), col(table.done_at) < before)
        async with self.store.connection() as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount)

    async def pending_count(self) -> int:
        """How many recorded deliveries are not done."""

        stmt = (
            select(func.count())
            .select_from(ProcessedDelivery)
            .where(col(ProcessedDelivery.done_at).is_(None))
        )
        async with self.store.connection() as conn:
            return int((await conn.execute(stmt)).scalar_one())
