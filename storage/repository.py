"""The unit of work: a Store hands out a Repository bound to one transaction, whose queries live by subject
in storage/*_rows.py (the SQL they share, built once, in storage/statements.py)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    event,
    inspect,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import col

from storage.incident_rows import IncidentRows
from storage.models import (
    Incident,
    TimelineEvent,
)
from storage.paging_rows import PagingRows
from storage.people_rows import PeopleRows
from storage.reminder_rows import ReminderRows
from storage.statements import (
    STATS_CHANGED,
)
from storage.stats import (
    SEVERITY_EVENT_KINDS,
    STATS_INPUTS,
)
from storage.timeline_rows import TimelineRows
from storage.work_rows import WorkRows


class _Session(Session):
    """The ORM session behind each transaction; notes the incidents whose stats inputs a flush changed."""


@event.listens_for(_Session, "after_flush")
def _note_stats_changes(session: Session, _context: Any) -> None:
    changed: set[int] = session.info.setdefault(STATS_CHANGED, set())
    for obj in session.new:
        if isinstance(obj, Incident) and obj.id is not None:
            changed.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, Incident) and obj.id is not None:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in STATS_INPUTS):
                changed.add(obj.id)
        elif isinstance(obj, TimelineEvent) and obj.kind in SEVERITY_EVENT_KINDS:
            changed.add(obj.incident_id)


class Turns:
    """A lock handed on first come first served, except that urgent waiters go before the others."""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def take(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """Holds the lock for the block."""
        if self._busy:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._others).append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._hand_on()  # handed the lock, then cancelled: pass it on
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        for queue in (self._urgent, self._others):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._busy = False


class Store:
    """Hands out repositories bound to one transaction each; `pause`, when given, is awaited before each
    transaction begins (the Slack app lets waiting answers go first there, see bot.slack.turns)."""

    def __init__(self, engine: AsyncEngine, *, pause: Callable[[], Awaitable[None]] | None = None) -> None:
        self.engine = engine
        self.pause = pause
        self._sessions = async_sessionmaker(
            engine, class_=AsyncSession, sync_session_class=_Session, expire_on_commit=False
        )
        # SQLite has one writer at a time, and every transaction here takes the write lock at BEGIN
        # (storage.db). Waiting for it in SQLite's busy handler means sleeping up to 100 ms at a time while
        # the lock may already be free, so the unlucky wait for seconds: this process's own transactions
        # queue here instead, first come first served. The busy timeout still covers other processes.
        # What must be written before Slack is answered (the durable inbox) goes ahead of the queue.
        self._turn: Turns | None = Turns() if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def _connection_turn(self, *, urgent: bool = False) -> AsyncIterator[None]:
        if self._turn is None:
            yield
        else:
            async with self._turn.take(urgent=urgent):
                yield

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repository]:
        """One unit of work: commits when the block ends, rolls back when it raises."""
        if self.pause is not None:
            await self.pause()
        async with self._connection_turn(), self._sessions() as session, session.begin():
            repo = Repository(session)
            yield repo
            await repo.refresh_stats()  # the stats rows of what this transaction changed, in it
            repo.committing = True  # past here a failure may come after the database committed

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection in one transaction, in this process's turn but without the pause before it (for
        what must be written before Slack is answered: the durable inbox)."""
        async with self._connection_turn(urgent=True), self.engine.begin() as conn:
            yield conn

    async def revision(self, *, incident_id: int) -> int | None:
        """The incident's revision as committed now (None when there is no such incident): one number, read
        on a bare connection rather than in a unit of work, for a change to check after its Slack effects."""
        stmt = select(col(Incident.revision)).where(col(Incident.id) == incident_id)
        async with self._connection_turn(), self.engine.connect() as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def ping(self) -> bool:
        """Whether the database answers."""
        async with self._connection_turn(), self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return True


class Repository(IncidentRows, TimelineRows, PeopleRows, WorkRows, ReminderRows, PagingRows):
    """Queries over one session, by subject (storage/*_rows.py); the caller's transaction decides when they
    commit."""
