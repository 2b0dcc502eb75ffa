"""POST /integrations/github: GitHub's `issues` webhook. A delivery signed with HASHI_GITHUB_WEBHOOK_SECRET
(X-Hub-Signature-256) is recorded in the durable inbox before it is answered, keyed by X-GitHub-Delivery, so a
redelivery, or the same delivery at two replicas, takes effect once, and one a crash interrupted is replayed.
An issue closed in the configured repository marks its follow-up done; anything else is answered and left."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from bot.incidents.deliveries import Delivery, run_recorded
from bot.incidents.followups import Followups
from bot.integrations.github import signature_valid
from storage.inbox import Arrival, DeliveryLog

log = logging.getLogger(__name__)

KIND = "github"  # the durable inbox's kind of these deliveries
PATH = "/integrations/github"


class GithubWebhook:
    """Receives GitHub's `issues` deliveries for `repo` (`owner/name`)."""

    def __init__(self, *, secret: str, repo: str, deliveries: DeliveryLog, followups: Followups) -> None:
        self.secret = secret
        self.repo = repo.lower()
        self.deliveries = deliveries
        self.followups = followups

    async def receive(self, request: web.Request) -> web.Response:
        """Checks the signature, records the delivery, answers, having done its work (or left it recorded
        for the inbox to replay when it failed)."""
        raw = await request.read()
        if not signature_valid(self.secret, raw, request.headers.get("X-Hub-Signature-256")):
            return web.json_response({"error": "bad signature"}, status=401)
        event = request.headers.get("X-GitHub-Event", "")
        delivery_id = request.headers.get("X-GitHub-Delivery", "").strip()
        if event != "issues":  # `ping` when the hook is made, and events Hashi does not use
            return web.json_response({"ok": True, "ignored": event or "no event"})
        if not delivery_id:
            return web.json_response({"error": "X-GitHub-Delivery is missing"}, status=400)
        try:
            payload = json.loads(raw)
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"error": "the body is not a JSON object"}, status=400)
        new, received = await self.deliveries.record(
            Arrival(delivery_id=f"{KIND}:{delivery_id}"[:255], kind=KIND, body=raw.decode("utf-8", "replace"))
        )
        if not new:
            return web.json_response({"ok": True, "duplicate": True})
        delivery = Delivery(delivery_id=f"{KIND}:{delivery_id}"[:255], received_at=received)
        try:
            await run_recorded(self.deliveries, delivery, self._work(payload))
        except Exception:  # recorded: the inbox replays it (run_recorded counted the failure)
            log.exception("GitHub delivery %s failed; it will be tried again", delivery_id)
        return web.json_response({"ok": True})

    async def replay(self, delivery: Delivery, body: str) -> None:
        """Runs a recorded delivery again (after a crash, or another replica's)."""
        try:
            payload = json.loads(body)
        except ValueError:
            await self.deliveries.finish(delivery.delivery_id, outcome="unreadable record")
            return
        await run_recorded(self.deliveries, delivery, self._work(payload))

    async def _work(self, payload: dict[str, Any]) -> None:
        """An issue closed in our repository closes its follow-up (once); the rest changes nothing."""
        issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else None
        repository = payload.get("repository") if isinstance(payload.get("repository"), dict) else None
        ours = repository is not None and str(repository.get("full_name", "")).lower() == self.repo
        if payload.get("action") == "closed" and issue is not None and ours and "number" in issue:
            await self.followups.ticket_closed(tracker=KIND, key=str(issue["number"]))
