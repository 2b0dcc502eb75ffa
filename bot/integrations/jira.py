"""Jira Cloud: follow-ups become issues (type Task) in `[integrations.jira] project`; `hashi followups sync`
marks done the follow-ups whose issue reached the Done status category."""

from __future__ import annotations

import base64
from typing import Any

from bot.incidents.outside import Ticket, TicketDraft
from bot.integrations.client import VendorClient
from bot.integrations.config import VendorAccess
from bot.integrations.outcomes import call_for_port

EMAIL, TOKEN = "HASHI_JIRA_EMAIL", "HASHI_JIRA_TOKEN"
ISSUE_TYPE = "Task"
# The status category of finished work. Atlassian's own examples name it `done` on live sites and
# `completed` in the spec (see ../shared/specs/jira/SOURCE.md); both count.
DONE_CATEGORIES = frozenset({"done", "completed"})


def headers(access: VendorAccess) -> dict[str, str]:
    """Basic authentication with the account's email and API token."""
    pair = f"{access.secret(EMAIL)}:{access.secret(TOKEN)}".encode()
    return {"Authorization": f"Basic {base64.b64encode(pair).decode()}", "Accept": "application/json"}


async def probe(client: VendorClient, _access: VendorAccess) -> str:
    """Reads the status categories: Jira answers and takes the email and token."""
    await client.call("statuscategory", "GET", "/rest/api/3/statuscategory")
    return f"Jira at {client.base_url} takes the email and token"


def description(draft: TicketDraft) -> dict[str, Any]:
    """The issue's description in the Atlassian Document Format: a paragraph of plain text each (ADF text is
    never read as markup)."""
    paragraphs = [*draft.paragraphs, draft.reference]
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs if p.strip()
        ],
    }


class JiraIssues:
    """The Tracker port over Jira Cloud's REST API v3."""

    name = "jira"

    def __init__(self, client: VendorClient, *, site: str, project: str) -> None:
        self.client = client
        self.site = site.rstrip("/")
        self.project = project

    async def file_ticket(self, *, draft: TicketDraft) -> Ticket:
        """Creates an issue; its key is Jira's (`OPS-12`), its address the site's browse page."""
        fields = {
            "project": {"key": self.project},
            "issuetype": {"name": ISSUE_TYPE},
            "summary": " ".join(draft.title.split())[:255],
            "description": description(draft),
        }
        answer = await call_for_port(
            self.client, "createIssue", "POST", "/rest/api/3/issue", json_body={"fields": fields}
        )
        key = str(answer.body["key"])
        return Ticket(key=key, url=f"{self.site}/browse/{key}")

    async def is_closed(self, *, key: str) -> bool:
        """Whether the issue's status is in the Done category."""
        answer = await call_for_port(
            self.client, "getIssue", "GET", f"/rest/api/3/issue/{key}", params={"fields": "status"}
        )
        status = (answer.body.get("fields") or {}).get("status") or {}
        category = status.get("statusCategory") or {}
        return str(category.get("key", "")).lower() in DONE_CATEGORIES
