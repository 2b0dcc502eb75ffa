"""A stand-in of PagerDuty's Events API v2 (POST /v2/enqueue), checked against specs/pagerduty."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from standin.vendors.base import Routed, VendorStandIn
from standin.vendors.openapi import OpenApiSpec

SPEC_FILE = "events-v2.openapi.json"
# From PagerDuty's docs (not encoded in the spec): see specs/pagerduty/SOURCE.md.
ROUTING_KEY_LENGTH = 32
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
TRIGGER_REQUIRES = ("summary", "source", "severity")


@dataclass
class PagerdutyAlert:
    """One alert as PagerDuty holds it: its state and every event that reached it."""

    dedup_key: str
    status: str
    events: list[dict[str, Any]] = field(default_factory=list)


class PagerdutyStandIn(VendorStandIn):
    """PagerDuty's Events API: `alerts` by dedup key; only `routing_keys` are taken."""

    vendor = "pagerduty"

    def __init__(self, *, spec: OpenApiSpec | None, **limits: Any) -> None:
        super().__init__(spec=spec, **limits)
        self.routing_key = secrets.token_hex(16)  # 32 characters, as PagerDuty's integration keys
        self.routing_keys = {self.routing_key}
        self.alerts: dict[str, PagerdutyAlert] = {}
        self.route("POST", "/v2/enqueue", self._enqueue)

    @classmethod
    def load(cls, **limits: Any) -> PagerdutyStandIn:
        """A stand-in checking calls against ../shared/specs/pagerduty (FileNotFoundError without it)."""
        return cls(spec=OpenApiSpec.load("pagerduty", SPEC_FILE), **limits)

    @property
    def api_url(self) -> str:
        """HASHI_PAGERDUTY_API_URL is the host (default https://events.pagerduty.com); calls add /v2/…."""
        return self.url

    def error(self, status: int, message: str) -> web.Response:
        """PagerDuty's error body: status, message and errors."""
        short = {400: "invalid event", 429: "throttle event"}.get(status, "error")
        return web.json_response({"status": short, "message": message, "errors": [message]}, status=status)

    def invalid(self, problems: list[str]) -> web.Response:
        """PagerDuty's 400 for an event that does not fit."""
        return web.json_response(
            {"status": "invalid event", "message": "Event object is invalid", "errors": problems}, status=400
        )

    def events(self, action: str | None = None) -> list[dict[str, Any]]:
        """Every accepted event, oldest first (only `action`s when given)."""
        accepted = [c.body for c in self.calls_to("POST", "/v2/enqueue") if c.status == 202]
        return [e for e in accepted if action is None or e.get("event_action") == action]

    async def _enqueue(self, routed: Routed) -> web.Response:
        event: dict[str, Any] = routed.body
        problems = self._documented_rules(event)
        if problems:
            self.problems += [f"POST /v2/enqueue: {p}" for p in problems]
            return self.invalid(problems)
        if event["routing_key"] not in self.routing_keys:
            # Not a fault of the call's shape: a wrong key, as a misconfigured Hashi would send.
            return self.invalid(["Invalid routing key"])
        action = event["event_action"]
        key = event.get("dedup_key") or str(uuid.uuid4())
        alert = self.alerts.get(key)
        if action == "trigger":
            if alert is None or alert.status == "resolved":
                alert = self.alerts[key] = PagerdutyAlert(dedup_key=key, status="triggered")
        elif alert is not None and alert.status != "resolved":
            alert.status = "acknowledged" if action == "acknowledge" else "resolved"
        if alert is not None:
            alert.events.append(event)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": key}, status=202
        )

    def _documented_rules(self, event: dict[str, Any]) -> list[str]:
        """The rules PagerDuty's docs state and the spec does not encode."""
        problems = []
        if len(str(event.get("routing_key"))) != ROUTING_KEY_LENGTH:
            problems.append("routing_key must be the 32-character integration key")
        key = event.get("dedup_key")
        if event.get("event_action") != "trigger" and not key:
            problems.append("dedup_key is required to acknowledge or resolve")
        if isinstance(key, str) and len(key) > MAX_DEDUP_KEY:
            problems.append(f"dedup_key is longer than {MAX_DEDUP_KEY} characters")
        if event.get("event_action") == "trigger":
            payload = event.get("payload")
            if not isinstance(payload, dict):
                problems.append("a trigger needs a payload")
            else:
                problems += [
                    f"payload.{k} is required to trigger" for k in TRIGGER_REQUIRES if k not in payload
                ]
                if len(str(payload.get("summary", ""))) > MAX_SUMMARY:
                    problems.append(f"payload.summary is longer than {MAX_SUMMARY} characters")
        return problems
