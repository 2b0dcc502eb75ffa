"""Acknowledged means recorded: every delivery a listener handles is written down before Slack is answered.

Each durable listener has `SlackInbox.record` as its listener middleware, which Bolt runs after the listener
matched and before the listener (or Bolt's automatic ack of an event) can answer: the delivery is recorded
there (several arriving together share one commit, storage.inbox), and a delivery recorded already — Slack's
retry, or the same request at two replicas — is answered without running again. The listener's work then
runs as the recorded delivery (bot.incidents.deliveries), so the change it makes marks it done in the same
transaction. What was recorded and not finished — a crash, a kill, a stop — is replayed from the record
through the same listeners (`resume`), once each, oldest first.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.incidents.deliveries import Delivery, run_recorded
from bot.incidents.effects import shown_behind
from storage.inbox import Arrival, DeliveryLog

log = logging.getLogger(__name__)

DELIVERY = "hashi_delivery"  # Bolt context key: the Delivery a listener's work is
REPLAY = "hashi_replay"  # Bolt context key: a Delivery replayed from the record (no new record, no answer)
MAX_KEY = 255
LISTENER_ARGS = ("context", "ack", "body", "respond", "command", "view", "event")
REPLAY_WAIT = 60.0  # seconds a replayed delivery's work may take before the next one starts anyway


Listener = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class DeliveryKey:
    """How a delivery is known: its id, unique across Slack's retries, and its kind."""

    delivery_id: str
    kind: str


def delivery_key(body: dict[str, Any]) -> DeliveryKey | None:
    """The id Slack's retries of this delivery share (event_id; a command's trigger; a click's trigger,
    action and time; a submitted view's id and hash), or None for a delivery without one."""
    if not isinstance(body, dict):
        return None
    kind = body.get("type")
    if kind == "event_callback" and body.get("event_id"):
        return DeliveryKey(f"event:{body['event_id']}"[:MAX_KEY], "event")
    if body.get("command") and body.get("trigger_id"):
        return DeliveryKey(f"command:{body['trigger_id']}"[:MAX_KEY], "command")
    if kind == "block_actions":
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        key = f"action:{body.get('trigger_id', '')}:{action.get('action_id')}:{action.get('action_ts')}"
        return DeliveryKey(key[:MAX_KEY], "action")
    if kind == "view_submission" and isinstance(body.get("view"), dict):
        view = body["view"]
        return DeliveryKey(f"view:{view.get('id', '')}:{view.get('hash', '')}"[:MAX_KEY], "view")
    return None


class SlackInbox:
    """Records deliveries before their ack, runs listeners' work as those deliveries, replays the rest."""

    def __init__(self, deliveries: DeliveryLog) -> None:
        self.deliveries = deliveries
        self.app: Any = None  # the Bolt app replays go through (set by build_app)
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._finished: dict[str, asyncio.Event] = {}
        # Kinds of delivery recorded by another door than Slack's (an alert webhook): how each is replayed.
        self.replayers: dict[str, Callable[[Delivery, str], Awaitable[None]]] = {}

    @property
    def in_flight(self) -> int:
        """How many deliveries' work is running now."""
        return len(self._running)

    async def record(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Listener middleware: writes the delivery down (committed) before the listener may answer it."""
        replayed = req.context.get(REPLAY)
        if isinstance(replayed, Delivery):
            req.context[DELIVERY] = replayed
            await next()
            return resp
        key = delivery_key(req.body)
        if key is None:
            await next()
            return resp
        new, received = await self.deliveries.record(
            Arrival(delivery_id=key.delivery_id, kind=key.kind, body=json.dumps(req.body, ensure_ascii=False))
        )
        if not new:
            log.info("delivery already recorded", extra={"delivery_id": key.delivery_id, "kind": key.kind})
            return BoltResponse(status=200, body="")  # answered; the first record's work does it
        req.context[DELIVERY] = Delivery(delivery_id=key.delivery_id, received_at=received)
        await next()
        return resp

    def listen(self, register: Callable[..., Any], *matchers: Any) -> Callable[[Listener], Listener]:
        """A decorator that adds a durable listener: `@inbox.listen(app.action, Action.ACK)`."""

        def add(listener: Listener) -> Listener:
            register(*matchers, middleware=[self.record])(self.durable(listener))
            return listener

        return add

    def durable(self, listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """Wraps a listener so its work runs as the delivery `record` wrote down, and finishes it."""
        names = inspect.getfullargspec(listener).args
        unknown = set(names) - set(LISTENER_ARGS)
        if unknown:
            raise TypeError(f"{listener.__name__}: durable listeners take {LISTENER_ARGS}, not {unknown}")

        # Bolt passes a listener the arguments its signature names, so this one names them all.
        async def run(
            context: Any, ack: Any, body: Any, respond: Any, command: Any, view: Any, event: Any
        ) -> None:
            given = {"context": context, "ack": ack, "body": body, "respond": respond}
            given |= {"command": command, "view": view, "event": event}
            work = listener(**{name: given[name] for name in names})
            delivery = context.get(DELIVERY)
            if isinstance(delivery, Delivery):
                await self._run(delivery, work)
            else:
                await work

        run.__name__, run.__qualname__, run.__doc__ = (
            listener.__name__,
            listener.__qualname__,
            listener.__doc__,
        )
        return run

    async def _run(self, delivery: Delivery, work: Awaitable[None]) -> None:
        task = asyncio.current_task()
        delivery_id = delivery.delivery_id
        if task is not None:
            self._running[delivery_id] = task
        try:
            await run_recorded(self.deliveries, delivery, work)
        finally:
            self._running.pop(delivery_id, None)
            finished = self._finished.pop(delivery_id, None)
            if finished is not None:
                finished.set()

    async def resume(self, *, mine_since: datetime | None = None) -> int:
        """Replays recorded deliveries not done (whose claim ran out, or this replica's own from before
        `mine_since`), one after another, oldest first; returns how many."""
        if self.app is None:
            return 0
        replayed = 0
        while True:
            batch = await self.deliveries.claim_pending(mine_since=mine_since)
            batch = [p for p in batch if p.delivery_id not in self._running]
            if not batch:
                return replayed
            for pending in batch:
                replayer = self.replayers.get(pending.kind)
                if replayer is not None:  # a delivery that did not come from Slack (an alert)
                    await replayer(Delivery(pending.delivery_id, pending.received_at), pending.body)
                else:
                    await self._replay(pending.delivery_id, pending.received_at, pending.body)
                replayed += 1

    async def _replay(self, delivery_id: str, received_at: datetime, body_text: str) -> None:
        try:
            body = json.loads(body_text)
        except ValueError:
            await self.deliveries.finish(delivery_id, outcome="unreadable record")
            return
        delivery = Delivery(delivery_id=delivery_id, received_at=received_at)
        finished = self._finished[delivery_id] = asyncio.Event()
        log.info("resuming a recorded delivery", extra={"delivery_id": delivery_id})
        request = AsyncBoltRequest(body=body, mode="socket_mode", context={REPLAY: delivery})
        # The listener's tasks copy this context: the next replay waits for this one's record, not its effect.
        with shown_behind():
            response = await self.app.async_dispatch(request)
        if DELIVERY not in request.context:  # no durable listener took it (it matches none any more)
            self._finished.pop(delivery_id, None)
            await self.deliveries.finish(delivery_id, outcome=f"no listener ({response.status})")
            return
        try:
            await asyncio.wait_for(finished.wait(), timeout=REPLAY_WAIT)
        except TimeoutError:
            log.warning("a resumed delivery is still running", extra={"delivery_id": delivery_id})

    async def drain(self, *, within: float) -> int:
        """At a stop: waits up to `within` seconds for the work in flight, then cancels what is left and hands
        its deliveries back (another replica, or the next start, resumes them); returns how many."""
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=within)
        left = {key: task for key, task in self._running.items() if not task.done()}
        for task in left.values():
            task.cancel()
        if left:
            await asyncio.gather(*left.values(), return_exceptions=True)
        return await self.deliveries.hand_back(list(left))
