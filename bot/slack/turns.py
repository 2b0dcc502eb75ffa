"""Answers first: the work after an ack waits while other requests still wait for their answer.

Slack wants every request answered within 3 seconds, and Hashi answers at once and works after. Bolt runs
that work on the same event loop as the answers, so in a burst (an incident storm, a channel full of people
clicking) the notes, card updates and reminders of the first requests would delay the answers to the next
ones. So a request's work waits, right after its ack and again before each database transaction, until no
other request is waiting for its answer. Its own answer it does not wait for: Bolt looks for the ack every
10 ms, and the work's first steps delay that answer by no more than they would delay it anyway. A request's
work waits at most `patience` seconds in all, so under a load that never pauses it still goes on; other
waiters (background repairs, /metrics) wait at most `patience` each time. With no burst there is no wait.

Nothing that runs before an ack may wait here (it would wait for its own answer): before their ack,
listeners only parse and may look a user up in Slack, never in the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

PATIENCE = 1.0  # seconds a request's work yields to answers, in all, before it goes on regardless

# When the current request's work stops yielding (monotonic seconds); each Bolt listener runs in its own task,
# so the value set after one request's ack belongs to that request's work only.
_deadline: ContextVar[float | None] = ContextVar("hashi_turns_deadline", default=None)


@dataclass
class _Request:
    """One request being answered; its listener's task sees it too (a copy of the context holds it)."""

    answered: bool = False


_request: ContextVar[_Request | None] = ContextVar("hashi_turns_request", default=None)


class AckFirst:
    """Counts requests not yet answered; work waits until no other request is waiting."""

    def __init__(self, *, patience: float = PATIENCE) -> None:
        self.patience = patience
        self._waiting = 0
        self._fewer = asyncio.Event()  # set, and replaced, whenever a request has been answered

    @property
    def waiting(self) -> int:
        """How many requests are waiting for their answer now."""
        return self._waiting

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one request, until its answer is ready."""
        mine = _Request()
        token = _request.set(mine)
        self._waiting += 1
        try:
            yield
        finally:
            mine.answered = True
            _request.reset(token)
            self._waiting -= 1
            answered, self._fewer = self._fewer, asyncio.Event()
            answered.set()

    def _others(self) -> int:
        """Requests waiting for their answer, not counting the one whose work this is."""
        mine = _request.get()
        return self._waiting - (1 if mine is not None and not mine.answered else 0)

    async def after_ack(self) -> None:
        """Called by a listener right after its ack: starts this request's budget of `patience` (once: a
        second call in the same request's work keeps it) and waits."""
        if _deadline.get() is None:
            _deadline.set(time.monotonic() + self.patience)
        await self.pause()

    async def pause(self) -> None:
        """Waits until no request is waiting for its answer, within what is left of this request's budget
        (or `patience`, for work that is not a request's)."""
        if self._others() <= 0:
            return
        deadline = _deadline.get()
        until = time.monotonic() + self.patience if deadline is None else deadline
        while self._others() > 0:
            timeout = until - time.monotonic()
            if timeout <= 0:
                return
            try:
                await asyncio.wait_for(self._fewer.wait(), timeout=timeout)
            except TimeoutError:
                return
