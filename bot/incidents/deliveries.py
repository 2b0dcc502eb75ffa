"""The delivery a unit of work is doing: its change marks it done in the same transaction (exactly once).

A Slack delivery is recorded before Hashi answers it (storage.inbox) and its work runs from that record,
so after a crash it may run again. The first transaction that writes what the delivery asked for also marks
the delivery done; when another run finished it first, that transaction raises AlreadyDone and rolls back,
so a change is never made twice. The Slack edge sets the current delivery around a listener's work; the
service reads it where it commits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.inbox import DeliveryLog

log = logging.getLogger(__name__)


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


async def run_recorded(deliveries: DeliveryLog, delivery: Delivery, work: Awaitable[None]) -> None:
    """Runs a recorded delivery's work as that delivery, and finishes it: done when its change (or nothing)
    committed, left to another run when one did it first, counted as failed (and set aside after the last
    attempt) when it raised."""
    delivery_id = delivery.delivery_id
    try:
        with working_on(delivery):
            await work
    except AlreadyDone:
        log.info("delivery done by another run", extra={"delivery_id": delivery_id})
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        set_aside = await deliveries.failed(delivery_id, reason=reason)
        log.log(
            logging.ERROR if set_aside else logging.WARNING,
            "delivery failed%s: %s",
            " for the last time" if set_aside else " (it will be tried again)",
            reason,
            extra={"delivery_id": delivery_id},
        )
        raise
    else:
        if not delivery.completed:
            await deliveries.finish(delivery_id)
