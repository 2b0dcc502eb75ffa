"""A stand-in of GitHub's Issues REST API (create, get, update), checked against specs/github, and the
sender of GitHub's signed `issues` webhook deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from standin.vendors.base import Routed, VendorStandIn
from standin.vendors.openapi import OpenApiSpec

SPEC_FILE = "issues.openapi.json"
MAX_TITLE = 256  # GitHub refuses longer titles (422)


@dataclass
class GithubIssue:
    """One issue as GitHub holds it."""

    number: int
    title: str
    body: str
    state: str = "open"
    state_reason: str | None = None

    def as_json(self, owner: str, repo: str, base: str) -> dict[str, Any]:
        """The issue as GitHub answers it (the fields its `issue` schema requires)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        api = f"{base}/repos/{owner}/{repo}/issues/{self.number}"
        return {
            "id": 1000 + self.number,
            "node_id": f"I_{self.number}",
            "number": self.number,
            "title": self.title,
            "body": self.body,
            "state": self.state,
            "state_reason": self.state_reason,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "labels": [],
            "milestone": None,
            "comments": 0,
            "closed_at": now if self.state == "closed" else None,
            "created_at": now,
            "updated_at": now,
            "url": api,
            "html_url": f"https://github.com/{owner}/{repo}/issues/{self.number}",
            "repository_url": f"{base}/repos/{owner}/{repo}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "user": {"login": "hashi-bot", "id": 1},
        }


class GithubStandIn(VendorStandIn):
    """GitHub's Issues API for one repository; only `token` is taken (as `Bearer <token>`)."""

    vendor = "github"

    def __init__(
        self, *, spec: OpenApiSpec | None, owner: str = "acme", repo: str = "ops", **limits: Any
    ) -> None:
        super().__init__(spec=spec, **limits)
        self.owner, self.repo = owner, repo
        self.token = secrets.token_hex(20)
        self.webhook_secret = secrets.token_hex(16)
        self.accepted = {f"Bearer {self.token}"}
        self.issues: dict[int, GithubIssue] = {}
        self.route("POST", "/repos/{owner}/{repo}/issues", self._create)
        self.route("GET", "/repos/{owner}/{repo}/issues/{issue_number}", self._get)
        self.route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}", self._update)

    @classmethod
    def load(cls, **options: Any) -> GithubStandIn:
        """A stand-in checking calls against ../shared/specs/github (FileNotFoundError without it)."""
        return cls(spec=OpenApiSpec.load("github", SPEC_FILE), **options)

    def error(self, status: int, message: str) -> web.Response:
        """GitHub's error body: message and documentation_url."""
        body = {
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }
        return web.json_response(body, status=status)

    def invalid(self, problems: list[str]) -> web.Response:
        """GitHub's 422 for a body that does not fit."""
        return web.json_response(
            {
                "message": "Validation Failed",
                "errors": problems,
                "documentation_url": "https://docs.github.com/rest",
            },
            status=422,
        )

    def _repository(self, routed: Routed) -> bool:
        return (routed.params["owner"], routed.params["repo"]) == (self.owner, self.repo)

    def _issue(self, routed: Routed) -> GithubIssue | None:
        number = routed.params["issue_number"]
        return self.issues.get(int(number)) if number.isdigit() else None

    async def _create(self, routed: Routed) -> web.Response:
        if not self._repository(routed):
            return self.error(404, "Not Found")
        title = str(routed.body.get("title", ""))
        if not title.strip() or len(title) > MAX_TITLE:
            self.problems.append(f"POST issues: a title of {len(title)} characters")
            return self.invalid([f"title must be 1 to {MAX_TITLE} characters"])
        issue = GithubIssue(number=len(self.issues) + 1, title=title, body=str(routed.body.get("body") or ""))
        self.issues[issue.number] = issue
        return web.json_response(issue.as_json(self.owner, self.repo, self.url), status=201)

    async def _get(self, routed: Routed) -> web.Response:
        issue = self._issue(routed) if self._repository(routed) else None
        if issue is None:
            return self.error(404, "Not Found")
        return web.json_response(issue.as_json(self.owner, self.repo, self.url))

    async def _update(self, routed: Routed) -> web.Response:
        issue = self._issue(routed) if self._repository(routed) else None
        if issue is None:
            return self.error(404, "Not Found")
        if "state" in routed.body:
            issue.state = routed.body["state"]
            issue.state_reason = routed.body.get("state_reason") or (
                "completed" if issue.state == "closed" else None
            )
        return web.json_response(issue.as_json(self.owner, self.repo, self.url))

    def close(self, number: int) -> dict[str, Any]:
        """Closes an issue as a person would on github.com; returns the `issues` webhook's payload."""
        issue = self.issues[number]
        issue.state, issue.state_reason = "closed", "completed"
        return {
            "action": "closed",
            "issue": issue.as_json(self.owner, self.repo, self.url),
            "repository": {
                "id": 1,
                "name": self.repo,
                "full_name": f"{self.owner}/{self.repo}",
                "html_url": f"https://github.com/{self.owner}/{self.repo}",
            },
            "sender": {"login": "octocat", "id": 2},
        }

    def signed(self, payload: dict[str, Any], *, secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        """A webhook delivery of `payload` as GitHub sends it: the body and its headers, signed with
        X-Hub-Signature-256 (with `secret`, or the configured webhook secret)."""
        body = json.dumps(payload).encode()
        digest = hmac.new((secret or self.webhook_secret).encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/standin",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-GitHub-Hook-ID": "1",
            "X-Hub-Signature-256": f"sha256={digest}",
        }
        return body, headers

    async def deliver(
        self, http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
    ) -> int:
        """POSTs a webhook delivery to Hashi; returns the HTTP status it answered."""
        async with http.post(url, data=body, headers=headers) as answer:
            return answer.status
