"""A stand-in of Jira Cloud's issue and transition REST API (v3), checked against specs/jira."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from standin.vendors.base import Routed, VendorStandIn
from standin.vendors.openapi import OpenApiSpec

SPEC_FILE = "issues-transitions.openapi.json"
# Status categories as the spec's examples give them (see specs/jira/SOURCE.md).
TO_DO = {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"}
IN_PROGRESS = {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"}
DONE = {"id": 3, "key": "done", "colorName": "green", "name": "Done"}
TRANSITIONS = {"11": ("To Do", TO_DO), "21": ("In Progress", IN_PROGRESS), "31": ("Done", DONE)}


@dataclass
class JiraIssue:
    """One issue as Jira holds it."""

    id: str
    key: str
    fields: dict[str, Any]
    status: str = "To Do"
    category: dict[str, Any] | None = None


class JiraStandIn(VendorStandIn):
    """Jira Cloud for one project; Basic authentication with `email` and `token` only."""

    vendor = "jira"

    def __init__(self, *, spec: OpenApiSpec | None, project: str = "OPS", **limits: Any) -> None:
        super().__init__(spec=spec, **limits)
        self.project = project
        self.email = "hashi@example.com"
        self.token = secrets.token_hex(12)
        self.accepted = {"Basic " + base64.b64encode(f"{self.email}:{self.token}".encode()).decode()}
        self.issues: dict[str, JiraIssue] = {}
        self.route("POST", "/rest/api/3/issue", self._create)
        self.route("GET", "/rest/api/3/issue/{issueIdOrKey}", self._get)
        self.route("POST", "/rest/api/3/issue/{issueIdOrKey}/transitions", self._transition)
        self.route("GET", "/rest/api/3/statuscategory", self._categories)

    @classmethod
    def load(cls, **options: Any) -> JiraStandIn:
        """A stand-in checking calls against ../shared/specs/jira (FileNotFoundError without it)."""
        return cls(spec=OpenApiSpec.load("jira", SPEC_FILE), **options)

    def error(self, status: int, message: str) -> web.Response:
        """Jira's ErrorCollection."""
        return web.json_response({"errorMessages": [message], "errors": {}}, status=status)

    def invalid(self, problems: list[str]) -> web.Response:
        """Jira's 400 for a body that does not fit."""
        return web.json_response({"errorMessages": problems, "errors": {}}, status=400)

    async def _create(self, routed: Routed) -> web.Response:
        fields = routed.body.get("fields") or {}
        errors = {}
        if (fields.get("project") or {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        if not str(fields.get("summary", "")).strip():
            errors["summary"] = "You must specify a summary of the issue."
        if len(str(fields.get("summary", ""))) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        if not (fields.get("issuetype") or {}).get("name"):
            errors["issuetype"] = "Specify an issue type"
        description = fields.get("description")
        if description is not None and (
            not isinstance(description, dict) or description.get("type") != "doc"
        ):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        if errors:
            self.problems += [f"POST /rest/api/3/issue: {k}: {v}" for k, v in errors.items()]
            return web.json_response({"errorMessages": [], "errors": errors}, status=400)
        number = len(self.issues) + 1
        issue = JiraIssue(
            id=str(10000 + number), key=f"{self.project}-{number}", fields=fields, category=TO_DO
        )
        self.issues[issue.key] = issue
        return web.json_response(
            {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/3/issue/{issue.id}"}, status=201
        )

    def _find(self, routed: Routed) -> JiraIssue | None:
        wanted = routed.params["issueIdOrKey"]
        return next((i for i in self.issues.values() if wanted in (i.id, i.key)), None)

    async def _get(self, routed: Routed) -> web.Response:
        issue = self._find(routed)
        if issue is None:
            return self.error(404, "Issue does not exist or you do not have permission to see it.")
        status = {"name": issue.status, "id": "1", "statusCategory": issue.category}
        return web.json_response(
            {
                "id": issue.id,
                "key": issue.key,
                "self": f"{self.url}/rest/api/3/issue/{issue.id}",
                "fields": {**issue.fields, "status": status},
            }
        )

    async def _transition(self, routed: Routed) -> web.Response:
        issue = self._find(routed)
        if issue is None:
            return self.error(404, "Issue does not exist or you do not have permission to see it.")
        wanted = str((routed.body.get("transition") or {}).get("id", ""))
        if wanted not in TRANSITIONS:
            return self.invalid([f"Transition id '{wanted}' is not valid for this issue."])
        issue.status, issue.category = TRANSITIONS[wanted]
        return web.Response(status=204)

    async def _categories(self, _routed: Routed) -> web.Response:
        return web.json_response([TO_DO, IN_PROGRESS, DONE])

    def finish(self, key: str) -> None:
        """Moves an issue to Done, as a person would in Jira."""
        issue = self.issues[key]
        issue.status, issue.category = TRANSITIONS["31"]
