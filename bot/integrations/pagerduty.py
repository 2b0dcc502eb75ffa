"""PagerDuty's Events API v2: trigger, acknowledge and resolve an alert keyed by the incident."""

from __future__ import annotations

from bot.integrations.client import VendorClient
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
