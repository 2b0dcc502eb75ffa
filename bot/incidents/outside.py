"""The ports to the team's other tools that follow incidents: a ticket tracker for follow-ups (GitHub Issues
or Jira) and a public status page (Statuspage). bot.integrations implements them over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class OutsideError(Exception):
    """A call to another tool failed after its retries; the record is kept and the call is tried again.
    `unknown`: no answer came (a timeout), so the tool may have done it all the same."""

    def __init__(self, tool: str, reason: str, *, unknown: bool = False) -> None:
        super().__init__(f"{tool}: {reason}")
        self.tool = tool
        self.reason = reason
        self.unknown = unknown


@dataclass(frozen=True)
class TicketDraft:
    """What a follow-up's ticket says: a title and paragraphs of plain text (the tracker's adapter escapes
    them for its own format), and a reference that names the follow-up in Hashi."""

    title: str
    paragraphs: Sequence[str]
    reference: str


@dataclass(frozen=True)
class Ticket:
    """A filed ticket: its key in the tracker (`OPS-12`, or the GitHub issue number) and its web address."""

    key: str
    url: str


class Tracker(Protocol):
    """Where follow-ups become tickets."""

    name: str  # "github" or "jira"

    async def file_ticket(self, *, draft: TicketDraft) -> Ticket:
        """Files a ticket; raises OutsideError."""
        ...

    async def is_closed(self, *, key: str) -> bool:
        """Whether the ticket is closed (done) now; raises OutsideError."""
        ...


@dataclass(frozen=True)
class PageIncident:
    """An incident on the public status page: its id there and its public address."""

    id: str
    shortlink: str


class StatusPage(Protocol):
    """The team's public status page."""

    async def open_incident(
        self, *, name: str, status: str, body: str, components: Mapping[str, str]
    ) -> PageIncident:
        """Opens a public incident with those component statuses (component id → status)."""
        ...

    async def update_incident(
        self, *, page_incident_id: str, status: str, body: str, components: Mapping[str, str]
    ) -> None:
        """Posts an update (status and message), setting those component statuses."""
        ...
