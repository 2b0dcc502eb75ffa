"""The `/incident` commands as typed values, parsed once at the Slack edge (see bot/slack/parse.py).

`incident_id` None means "the incident of the channel the command was typed in".
Times are UTC-aware; `at` None means "now". Free text is as the user wrote it (Slack's `&amp;`, `&lt;`, `&gt;`
decoded, control characters removed), so it must be escaped wherever it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from bot.incidents.model import Status
from bot.incidents.windows import Window


@dataclass(frozen=True, slots=True)
class OpenDeclareModal:
    """`/incident` or `/incident declare`: open the declare modal."""


@dataclass(frozen=True, slots=True)
class Declare:
    """`/incident declare [SEVn] [type:<name>] <title>`: declare at once (severity None means the configured
    default; incident_type None the configured default type, checked by the service)."""

    severity: str | None
    title: str
    incident_type: str | None = None


@dataclass(frozen=True, slots=True)
class ListIncidents:
    """`/incident list`: the open incidents the user may see."""


@dataclass(frozen=True, slots=True)
class Stats:
    """`/incident stats [<window>] [service:<name>]`: recovery-time metrics over a window."""

    window: Window
    window_text: str
    service: str | None


@dataclass(frozen=True, slots=True)
class Help:
    """`/incident help`: the usage text."""


@dataclass(frozen=True, slots=True)
class SetSeverity:
    """`/incident sev <SEVn> [reason]`: change the severity (a canonical configured code)."""

    incident_id: int | None
    severity: str
    reason: str


@dataclass(frozen=True, slots=True)
class SetStatus:
    """`/incident status <status> [at <time>] [message]`: change the status."""

    incident_id: int | None
    status: Status
    at: datetime | None
    message: str


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """`/incident ack [at <time>]`: acknowledge the incident."""

    incident_id: int | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Mitigated:
    """`/incident mitigated [at <time>]`: record that the impact is mitigated."""

    incident_id: int | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class SetLead:
    """`/incident lead <@user>` (or `role lead <@user>`): set the incident lead."""

    incident_id: int | None
    user_id: str


@dataclass(frozen=True, slots=True)
class Page:
    """`/incident page <@user|service>`: page someone, or a service's on-call, through the pager."""

    incident_id: int | None
    target: str  # "user:<U…>" or "service:<name>"


@dataclass(frozen=True, slots=True)
class AssignRole:
    """`/incident role <role> <@user>`: assign another role (spelled as configured)."""

    incident_id: int | None
    role: str
    user_id: str


@dataclass(frozen=True, slots=True)
class AddNote:
    """`/incident note [at <time>] <text>` (alias `log`): add a timeline event."""

    incident_id: int | None
    at: datetime | None
    text: str


@dataclass(frozen=True, slots=True)
class SetImpact:
    """`/incident impact start|end <time>`: set when the impact started or ended."""

    incident_id: int | None
    edge: Literal["start", "end"]
    at: datetime


@dataclass(frozen=True, slots=True)
class SetDetected:
    """`/incident detected <time>`: set when the incident was detected."""

    incident_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Resolve:
    """`/incident resolve [at <time>] [summary]`: resolve the incident."""

    incident_id: int | None
    at: datetime | None
    summary: str


@dataclass(frozen=True, slots=True)
class Reopen:
    """`/incident reopen`: reopen a resolved incident."""

    incident_id: int | None


@dataclass(frozen=True, slots=True)
class RetrySetup:
    """`/incident retry`: do the Slack set-up a declaration could not finish (channel, card, invites…)."""

    incident_id: int | None


@dataclass(frozen=True, slots=True)
class Close:
    """`/incident close`: close a resolved incident."""

    incident_id: int | None


@dataclass(frozen=True, slots=True)
class ShowTimeline:
    """`/incident timeline [page]`: the latest timeline entries, each with an Edit button."""

    incident_id: int | None
    page: int = 1


@dataclass(frozen=True, slots=True)
class ShowChecklist:
    """`/incident checklist`: show the playbook checklists."""

    incident_id: int | None


@dataclass(frozen=True, slots=True)
class StartPlaybook:
    """`/incident playbook <name>`: start another playbook."""

    incident_id: int | None
    name: str


@dataclass(frozen=True, slots=True)
class AddFollowup:
    """`/incident followup <text> [<@owner>]`: record a follow-up action item (owner is a user ID)."""

    incident_id: int | None
    text: str
    owner: str | None


@dataclass(frozen=True, slots=True)
class PublishStatuspage:
    """`/incident statuspage publish <message>`: open a public incident on the status page."""

    incident_id: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Postmortem:
    """`/incident postmortem`: export the postmortem draft to the channel."""

    incident_id: int | None


@dataclass(frozen=True, slots=True)
class SetType:
    """`/incident type <name>`: give the incident another configured type (checked by the service)."""

    incident_id: int | None
    incident_type: str


@dataclass(frozen=True, slots=True)
class SetField:
    """`/incident set <field> <value>`: set a custom field (name and value checked by the service)."""

    incident_id: int | None
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class SetServices:
    """`/incident services <a>, <b>` (replace them; None: keep them) `+<c>` (add) `-<d>` (remove)."""

    incident_id: int | None
    replace: tuple[str, ...] | None
    add: tuple[str, ...]
    remove: tuple[str, ...]


# Commands that act on one incident (they all carry `incident_id`).
IncidentCommand: TypeAlias = (
    SetSeverity
    | SetStatus
    | Acknowledge
    | Mitigated
    | SetLead
    | AssignRole
    | AddNote
    | SetImpact
    | SetDetected
    | Resolve
    | Reopen
    | RetrySetup
    | Close
    | ShowChecklist
    | ShowTimeline
    | StartPlaybook
    | AddFollowup
    | PublishStatuspage
    | Page
    | Postmortem
    | SetType
    | SetField
    | SetServices
)
Command: TypeAlias = OpenDeclareModal | Declare | ListIncidents | Stats | Help | IncidentCommand
