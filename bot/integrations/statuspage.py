"""Atlassian Statuspage: the public incident of a published incident, on `[integrations.statuspage]
page_id`, with the components of its services (`[integrations.statuspage.components]`)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.incidents.outside import PageIncident
from bot.integrations.client import VendorClient
from bot.integrations.config import VendorAccess
from bot.integrations.outcomes import call_for_port

API_KEY = "HASHI_STATUSPAGE_API_KEY"
MAX_NAME = 255


def headers(access: VendorAccess) -> dict[str, str]:
    """Statuspage's `Authorization: OAuth <key>`."""
    return {"Authorization": f"OAuth {access.secret(API_KEY)}", "Accept": "application/json"}


async def probe(client: VendorClient, access: VendorAccess) -> str:
    """Lists the page's components: Statuspage answers, takes the key and knows the page."""
    page = access.options.get("page_id", "")
    answer = await client.call("components/list", "GET", f"/pages/{page}/components")
    count = len(answer.body) if isinstance(answer.body, list) else 0
    return f"Statuspage at {client.base_url} takes the key; page {page} has {count} components"


class Statuspage:
    """The StatusPage port over Statuspage's REST API."""

    def __init__(self, client: VendorClient, *, page_id: str) -> None:
        self.client = client
        self.page_id = page_id

    async def open_incident(
        self, *, name: str, status: str, body: str, components: Mapping[str, str]
    ) -> PageIncident:
        """Creates a realtime incident affecting those components."""
        incident = {
            "name": " ".join(name.split())[:MAX_NAME],
            "status": status,
            "body": body,
            "component_ids": list(components),
            "components": dict(components),
        }
        answer = await call_for_port(
            self.client,
            "incidents/create",
            "POST",
            f"/pages/{self.page_id}/incidents",
            json_body={"incident": incident},
        )
        return PageIncident(id=str(answer.body["id"]), shortlink=str(answer.body.get("shortlink") or ""))

    async def update_incident(
        self, *, page_incident_id: str, status: str, body: str, components: Mapping[str, str]
    ) -> None:
        """Posts an incident update (status and message) and sets the components."""
        incident = {"status": status, "body": body, "components": dict(components)}
        await call_for_port(
            self.client,
            "incidents/update",
            "PATCH",
            f"/pages/{self.page_id}/incidents/{page_incident_id}",
            json_body={"incident": incident},
        )
