"""The delivery a unit of work is doing: its change marks it done in the same transaction (exactly once).

A Slack delivery is recorded before Hashi answers it (storage.inbox) and its work runs from that record,
so after a crash it may run again. The first transaction that writes what the delivery asked for also marks
the delivery done; when another run finished it first, that transaction raises AlreadyDone and rolls back,
so a change is never made twice. The Slack edge sets the current delivery around a listener's work; the
service reads it where it commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass
class Delivery:
    """One recorded delivery being worked on."""

    delivery_id: str
    received_at: datetime
    # Set once a transaction that marked it done has committed (later writes of the same work skip it).
    completed: bool = False


class AlreadyDone(Exception):
    """Another run of this delivery made its change already (a replica, or this one before a restart)."""


_current: ContextVar[Delivery | None] = ContextVar("hashi_delivery", default=None)


def current_delivery() -> Delivery | None:
    """The delivery whose work is running in this task, if any."""
    return _current.get()


@contextmanager
def working_on(delivery: Delivery) -> Iterator[Delivery]:
    """Makes `delivery` the current one for the work inside."""
    token = _current.set(delivery)
    try:
        yield delivery
    finally:
        _current.reset(token)


def delivery_time() -> datetime:
    """When the current delivery reached Hashi (a replay reads times like `10m ago` as of then), else now."""
    delivery = _current.get()
    return delivery.received_at if delivery is not None else datetime.now(UTC)
