"""GitHub Issues: follow-ups become issues in `[integrations.github] repo`, and a closed issue closes its
follow-up (the `issues` webhook at POST /integrations/github, signed with X-Hub-Signature-256; or
`hashi followups sync`)."""

from __future__ import annotations

import hashlib
import hmac

from bot.incidents.escaping import escape_github
from bot.incidents.outside import Ticket, TicketDraft
from bot.integrations.client import VendorClient, VendorError
from bot.integrations.config import VendorAccess
from bot.integrations.outcomes import call_for_port

TOKEN = "HASHI_GITHUB_TOKEN"
WEBHOOK_SECRET = "HASHI_GITHUB_WEBHOOK_SECRET"
API_VERSION = "2022-11-28"


def headers(access: VendorAccess) -> dict[str, str]:
    """A bearer token, GitHub's JSON media type and the API version every call names."""
    return {
        "Authorization": f"Bearer {access.secret(TOKEN)}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "hashi-incident-bot",
    }


async def probe(client: VendorClient, access: VendorAccess) -> str:
    """Reads issue #1 of the repository: any answer but 401/403 means GitHub answers and takes the token."""
    repo = repo_of(access)
    try:
        await client.call("issues/get", "GET", f"/repos/{repo}/issues/1")
    except VendorError as exc:
        if exc.status != 404:  # no issue #1 yet (or a repository the token cannot see: GitHub says 404)
            raise
        return f"GitHub at {client.base_url} takes the token (no issue #1 in {repo} to read)"
    return f"GitHub at {client.base_url} takes the token and reads {repo}"


def repo_of(access: VendorAccess) -> str:
    """The `owner/name` follow-ups are filed in (`[integrations.github] repo`)."""
    return access.options.get("repo", "")


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether X-Hub-Signature-256 (`sha256=<hex HMAC-SHA256 of the raw body>`) was made with `secret`."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def issue_body(draft: TicketDraft) -> str:
    """The issue's Markdown: each paragraph escaped (no mention, issue link or markup from users)."""
    return "\n\n".join([*(escape_github(p) for p in draft.paragraphs), f"_{escape_github(draft.reference)}_"])


class GithubIssues:
    """The Tracker port over GitHub's REST API."""

    name = "github"

    def __init__(self, client: VendorClient, *, repo: str) -> None:
        self.client = client
        self.repo = repo

    async def file_ticket(self, *, draft: TicketDraft) -> Ticket:
        """Opens an issue; its key is the issue number."""
        answer = await call_for_port(
            self.client,
            "issues/create",
            "POST",
            f"/repos/{self.repo}/issues",
            json_body={"title": " ".join(draft.title.split()), "body": issue_body(draft)},
        )
        return Ticket(key=str(answer.body["number"]), url=str(answer.body["html_url"]))

    async def is_closed(self, *, key: str) -> bool:
        """Whether the issue is closed."""
        answer = await call_for_port(self.client, "issues/get", "GET", f"/repos/{self.repo}/issues/{key}")
        return bool(answer.body.get("state") == "closed")
