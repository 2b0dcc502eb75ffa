"""PagerDuty's Events API v2: trigger, acknowledge and resolve an alert keyed by the incident."""

from __future__ import annotations

from typing import Any

from bot.incidents.errors import PagerError
from bot.incidents.ports import PageOrder
from bot.integrations.client import VendorClient, VendorError
from bot.integrations.config import VendorAccess

ENQUEUE = "/v2/enqueue"
ROUTING_KEY = "HASHI_PAGERDUTY_ROUTING_KEY"
# Acknowledging a key nobody triggered changes nothing at PagerDuty, yet checks the routing key and the route.
DOCTOR_DEDUP_KEY = "hashi-doctor-probe"


def headers(_access: VendorAccess) -> dict[str, str]:
    """The Events API takes its routing key in the body, not in a header."""
    return {}


async def probe(client: VendorClient, access: VendorAccess) -> str:
    """An acknowledge of a key nobody triggered: accepted when PagerDuty answers and takes the routing key."""
    await client.call(
        "enqueue",
        "POST",
        ENQUEUE,
        json_body={
            "routing_key": access.secret(ROUTING_KEY),
            "event_action": "acknowledge",
            "dedup_key": DOCTOR_DEDUP_KEY,
        },
    )
    return f"Events API at {client.base_url} takes the routing key"


class PagerdutyPager:
    """The Pager port over PagerDuty's Events API v2 (one VendorClient: retries, backoff, metrics)."""

    def __init__(self, *, client: VendorClient, routing_key: str) -> None:
        self.client = client
        self._routing_key = routing_key

    async def send(self, order: PageOrder) -> None:
        """Enqueues one event; PagerError (retryable or not) when PagerDuty did not take it."""
        event: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": order.action,
            "dedup_key": order.dedup_key,
        }
        if order.action == "trigger":
            payload: dict[str, Any] = {
                "summary": order.summary,
                "source": "hashi",
                "severity": order.severity,
            }
            if order.component:
                payload["component"] = order.component
            if order.details:
                payload["custom_details"] = order.details
            event["payload"] = payload
            event["client"] = "Hashi"
        try:
            await self.client.call("enqueue", "POST", ENQUEUE, json_body=event)
        except VendorError as exc:
            raise PagerError(exc.reason, retryable=exc.retryable) from exc

    async def close(self) -> None:
        """Closes the client's HTTP session."""
        await self.client.close()
