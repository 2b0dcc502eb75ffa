"""A stand-in of Atlassian Statuspage's incidents and components API, checked against specs/statuspage."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from standin.vendors.base import Routed, VendorStandIn
from standin.vendors.openapi import OpenApiSpec

SPEC_FILE = "incidents-components.openapi.json"
REALTIME = ("investigating", "identified", "monitoring", "resolved")


@dataclass
class PageIncident:
    """A public incident as Statuspage holds it, with every update posted to it."""

    id: str
    name: str
    status: str
    components: list[str]
    updates: list[dict[str, Any]] = field(default_factory=list)


class StatuspageStandIn(VendorStandIn):
    """Statuspage for one page and its components; only `Authorization: OAuth <api_key>` is taken."""

    vendor = "statuspage"

    def __init__(self, *, spec: OpenApiSpec | None, page_id: str = "pg1", **limits: Any) -> None:
        super().__init__(spec=spec, **limits)
        self.page_id = page_id
        self.api_key = secrets.token_hex(16)
        self.accepted = {f"OAuth {self.api_key}"}
        self.components: dict[str, dict[str, Any]] = {}
        self.incidents: dict[str, PageIncident] = {}
        self.route("POST", "/v1/pages/{page_id}/incidents", self._create)
        self.route("PATCH", "/v1/pages/{page_id}/incidents/{incident_id}", self._update)
        self.route("GET", "/v1/pages/{page_id}/incidents/{incident_id}", self._get)
        self.route("GET", "/v1/pages/{page_id}/components", self._components)

    @classmethod
    def load(cls, **options: Any) -> StatuspageStandIn:
        """A stand-in checking calls against ../shared/specs/statuspage (FileNotFoundError without it)."""
        return cls(spec=OpenApiSpec.load("statuspage", SPEC_FILE), **options)

    def add_component(self, component_id: str, name: str) -> None:
        """A component of the page, operational."""
        self.components[component_id] = {"id": component_id, "name": name, "status": "operational"}

    def error(self, status: int, message: str) -> web.Response:
        """Statuspage's ErrorEntity."""
        return web.json_response({"message": message}, status=status)

    def invalid(self, problems: list[str]) -> web.Response:
        """Statuspage's 422 for a body that does not fit."""
        return web.json_response({"error": problems}, status=422)

    def _as_json(self, incident: PageIncident) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        return {
            "id": incident.id,
            "name": incident.name,
            "status": incident.status,
            "page_id": self.page_id,
            "impact": "major",
            "shortlink": f"https://stspg.io/{incident.id}",
            "created_at": now,
            "updated_at": now,
            "components": [self.components[c] for c in incident.components if c in self.components],
            "incident_updates": incident.updates,
        }

    def _apply(self, incident: PageIncident, body: dict[str, Any]) -> list[str]:
        """Applies the request's status, message and component statuses; returns what it could not."""
        problems = []
        status = body.get("status", incident.status)
        if status not in REALTIME:
            problems.append(f"status {status!r} is not one of a realtime incident's")
        for component_id, component_status in (body.get("components") or {}).items():
            if component_id not in self.components:
                problems.append(f"component {component_id} is not on page {self.page_id}")
            elif component_status not in (
                "operational",
                "under_maintenance",
                "degraded_performance",
                "partial_outage",
                "major_outage",
            ):
                problems.append(f"component status {component_status!r} is not one of Statuspage's")
            else:
                self.components[component_id]["status"] = component_status
                if component_id not in incident.components:
                    incident.components.append(component_id)
        if not problems:
            incident.status = status
            incident.updates.append(
                {"status": status, "body": body.get("body", ""), "components": body.get("components")}
            )
        return problems

    async def _create(self, routed: Routed) -> web.Response:
        if routed.params["page_id"] != self.page_id:
            return self.error(404, "The requested resource could not be found.")
        body = routed.body.get("incident") or {}
        incident = PageIncident(
            id=secrets.token_hex(6),
            name=str(body.get("name", "")),
            status="investigating",
            components=[c for c in body.get("component_ids") or [] if isinstance(c, str)],
        )
        problems = self._apply(incident, body)
        if problems:
            self.problems += [f"POST incidents: {p}" for p in problems]
            return self.invalid(problems)
        self.incidents[incident.id] = incident
        return web.json_response(self._as_json(incident), status=201)

    async def _update(self, routed: Routed) -> web.Response:
        incident = self.incidents.get(routed.params["incident_id"])
        if routed.params["page_id"] != self.page_id or incident is None:
            return self.error(404, "The requested resource could not be found.")
        problems = self._apply(incident, routed.body.get("incident") or {})
        if problems:
            self.problems += [f"PATCH incidents: {p}" for p in problems]
            return self.invalid(problems)
        return web.json_response(self._as_json(incident))

    async def _get(self, routed: Routed) -> web.Response:
        incident = self.incidents.get(routed.params["incident_id"])
        if routed.params["page_id"] != self.page_id or incident is None:
            return self.error(404, "The requested resource could not be found.")
        return web.json_response(self._as_json(incident))

    async def _components(self, routed: Routed) -> web.Response:
        if routed.params["page_id"] != self.page_id:
            return self.error(404, "The requested resource could not be found.")
        return web.json_response(list(self.components.values()))
