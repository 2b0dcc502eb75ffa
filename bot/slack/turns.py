"""Answers first: the work after an ack waits while other requests still wait for their answer.

Slack wants every request answered within 3 seconds, and Hashi answers at once and works after. Bolt runs
that work on the same event loop as the answers, so in a burst (an incident storm, a channel full of people
clicking) the notes, card updates and reminders of the first requests would delay the answers to the next
ones. So a request's work waits, right after its ack and again before each database transaction, until no
request is waiting for its answer (its own included). A request's work waits at most `patience` seconds in
all, so under a load that never pauses it still goes on; other waiters (background repairs, /metrics) wait
at most `patience` each time. With no burst the wait is the few milliseconds Bolt takes to send the answer.

Nothing that runs before an ack may wait here (it would wait for its own answer): before their ack,
listeners only parse and may look a user up in Slack, never in the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

PATIENCE = 1.0  # seconds a request's work yields to answers, in all, before it goes on regardless

# When the current request's work stops yielding (monotonic seconds); each Bolt listener runs in its own task,
# so the value set after one request's ack belongs to that request's work only.
_deadline: ContextVar[float | None] = ContextVar("hashi_turns_deadline", default=None)


class AckFirst:
    """Counts requests not yet answered; work waits until there are none."""

    def __init__(self, *, patience: float = PATIENCE) -> None:
        self.patience = patience
        self._waiting = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @property
    def waiting(self) -> int:
        """How many requests are waiting for their answer now."""
        return self._waiting

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one request, until its answer is ready."""
        self._waiting += 1
        self._clear.clear()
        try:
            yield
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                self._clear.set()

    async def after_ack(self) -> None:
        """Called by a listener right after its ack: starts this request's budget of `patience` (once: a
        second call in the same request's work keeps it) and waits."""
        if _deadline.get() is None:
            _deadline.set(time.monotonic() + self.patience)
        await self.pause()

    async def pause(self) -> None:
        """Waits until no request is waiting for its answer, within what is left of this request's budget
        (or `patience`, for work that is not a request's)."""
        if self._waiting == 0:
            return
        deadline = _deadline.get()
        timeout = self.patience if deadline is None else deadline - time.monotonic()
        if timeout <= 0:
            return
        try:
            await asyncio.wait_for(self._clear.wait(), timeout=timeout)
        except TimeoutError:
            pass
