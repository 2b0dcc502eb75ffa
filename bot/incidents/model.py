"""The incident vocabulary: statuses, milestones, event kinds and the lifecycle rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.i18n import Lang, Msg
from readmodel import OPEN_STATUSES as OPEN_STATUS_VALUES
from readmodel.milestones import START_MILESTONES, impact_end_of, start_of


class Status(StrEnum):
    """Where an incident is in its lifecycle."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Open incidents are the ones still being worked on."""
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset(Status(value) for value in OPEN_STATUS_VALUES)  # defined once, in readmodel
# Statuses a user may set with `/incident status`; closing and reopening have their own commands.
SETTABLE_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED)


class Milestone(StrEnum):
    """The timestamps DESIGN.md names, in lifecycle order."""

    IMPACT_STARTED = "impact_started_at"
    DETECTED = "detected_at"
    DECLARED = "declared_at"
    ACKNOWLEDGED = "acknowledged_at"
    MITIGATED = "mitigated_at"
    RESOLVED = "resolved_at"
    CLOSED = "closed_at"
    IMPACT_ENDED = "impact_ended_at"


class EventKind(StrEnum):
    """What a timeline event records."""

    DECLARED = "declared"
    SEVERITY = "severity"
    STATUS = "status"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    MILESTONE = "milestone"
    LEAD = "lead"
    ROLE = "role"
    NOTE = "note"
    SLACK_MESSAGE = "slack_message"
    FOLLOWUP = "followup"
    CHECKLIST = "checklist"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    PARTICIPANT = "participant"
    STATUSPAGE = "statuspage"
    TYPE = "type"
    FIELD = "field"
    SERVICES = "services"
    ALERT = "alert"
    PAGE = "page"


DEFAULT_SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
# The type an incident has when the team configures none (and every incident stored before types existed).
DEFAULT_TYPE = "default"
# A custom field's stored value: text, a number, the chosen choice, or a Slack user id.
FieldValue = str | int | float


@dataclass(frozen=True)
class Milestones:
    """The milestone timestamps of one incident (UTC-aware, or None when not reached)."""

    impact_started_at: datetime | None = None
    detected_at: datetime | None = None
    declared_at: datetime | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    impact_ended_at: datetime | None = None

    @property
    def start(self) -> datetime | None:
        """Impact start, else detection, else declaration (readmodel.milestones.start_of)."""
        return start_of(self.impact_started_at, self.detected_at, self.declared_at)

    @property
    def impact_end(self) -> datetime | None:
        """Impact end, else mitigation, else resolution (readmodel.milestones.impact_end_of)."""
        return impact_end_of(self.impact_ended_at, self.mitigated_at, self.resolved_at)

    def as_dict(self) -> dict[str, datetime | None]:
        """Every milestone by name, in lifecycle order."""
        return {m.value: getattr(self, m.value) for m in Milestone}

    def out_of_order(self) -> tuple[tuple[Milestone, Milestone], ...]:
        """Each (later, earlier) pair that lies the wrong way round, as stats flag them (detection before
        impact start is no problem: an alert on a precursor)."""
        start = next(
            (Milestone(name) for name in START_MILESTONES if getattr(self, name) is not None),
            Milestone.DECLARED,
        )
        rules = (
            (Milestone.ACKNOWLEDGED, Milestone.DECLARED),
            (Milestone.MITIGATED, start),
            (Milestone.RESOLVED, start),
            (Milestone.IMPACT_ENDED, start),
            (Milestone.RESOLVED, Milestone.MITIGATED),
            (Milestone.CLOSED, Milestone.RESOLVED),
            (Milestone.CLOSED, Milestone.DECLARED),
        )
        found = []
        for later, earlier in rules:
            after, before = getattr(self, later.value), getattr(self, earlier.value)
            if after is not None and before is not None and after < before:
                found.append((later, earlier))
        return tuple(found)


@dataclass(frozen=True)
class EarlierVersion:
    """What a timeline entry said before a correction: its time and text, and the edit that made it (None
    for the entry as first written)."""

    at: datetime
    text: str
    edited_at: datetime | None = None
    edited_by: str | None = None


@dataclass(frozen=True)
class TimelineEntry:
    """One event on an incident's timeline, as the read side sees it."""

    at: datetime
    recorded_at: datetime
    kind: str
    actor: str | None
    text: str
    source_ref: str | None = None
    permalink: str | None = None
    # Hashi's own words (a declaration, a severity change …), to show in each reader's language; None for
    # what people wrote (notes, pinned messages) and for events stored before the catalogue.
    message: Msg | None = None
    id: int | None = None  # the stored event's id (what an Edit button names)
    # The last correction someone made (who, when), and every earlier version, oldest first.
    edited_at: datetime | None = None
    edited_by: str | None = None
    previous: tuple[EarlierVersion, ...] = ()

    def text_in(self, lang: Lang) -> str:
        """The event's text in a language (people's words as they wrote them)."""
        return self.message.render(lang) if self.message is not None else self.text


@dataclass(frozen=True)
class ChecklistItemView:
    """One checklist item of a running playbook."""

    playbook: str
    key: str
    title: str
    done: bool
    done_by: str | None
    done_at: datetime | None
    required: bool = False
    owner_role: str | None = None
    due_at: datetime | None = None
    details: str = ""


@dataclass(frozen=True)
class FollowupView:
    """A follow-up action item, and its ticket in the team's tracker when it has one."""

    text: str
    owner: str | None
    done: bool
    created_at: datetime | None = None
    ticket_key: str | None = None
    url: str | None = None
    ticket_state: str = ""  # "" no ticket; "pending" not filed yet; "open"; "closed"
    id: int | None = None

    @property
    def status(self) -> str:
        """`done`, `pending` (its ticket is not filed yet) or `open`."""
        return followup_status(done=self.done, ticket_state=self.ticket_state)


def followup_status(*, done: bool, ticket_state: str) -> str:
    """A follow-up's status as exports and lists show it: `done`, `pending` (its ticket is not filed yet) or
    `open`."""
    if done:
        return "done"
    return "pending" if ticket_state == "pending" else "open"


@dataclass(frozen=True)
class FollowupRow:
    """One follow-up across incidents (`hashi followups list`), with its incident's id and privacy."""

    id: int
    incident_id: int
    private: bool
    text: str
    owner: str | None
    created_at: datetime
    done: bool
    done_at: datetime | None
    ticket_state: str
    ticket_key: str | None
    url: str | None

    @property
    def status(self) -> str:
        """`done`, `pending` (its ticket is not filed yet) or `open`."""
        return followup_status(done=self.done, ticket_state=self.ticket_state)


@dataclass(frozen=True)
class StatuspageView:
    """The incident's public incident on the status page."""

    status: str  # the last status asked for: investigating, identified, monitoring or resolved
    page_incident_id: str | None  # None until Statuspage took it
    url: str | None
    components: tuple[str, ...]
    pending: bool  # an opening or update not sent yet


@dataclass(frozen=True)
class PageView:
    """A page sent (or being sent) to the pager for the incident."""

    action: str  # trigger, acknowledge, resolve
    target: str  # "severity:SEV1", "service:<name>", "user:<U…>"
    dedup_key: str
    status: str  # pending, sent, failed
    attempts: int
    error: str
    requested_by: str | None
    created_at: datetime
    sent_at: datetime | None


def incident_people(
    *,
    declared_by: str | None,
    lead: str | None,
    participants: Iterable[str],
    role_holders: Iterable[str],
    departed: Iterable[str] = (),
) -> frozenset[str]:
    """Everyone in an incident: who declared it, its lead, the role holders and the participants, less the
    people who have left its channel."""
    gone = set(departed)
    return frozenset(p for p in (declared_by, lead, *participants, *role_holders) if p and p not in gone)


@dataclass(frozen=True)
class IncidentSnapshot:
    """Everything known about one incident, for the read side (reports, exports, cards)."""

    id: int
    title: str
    severity: str
    status: Status
    private: bool
    services: tuple[str, ...]
    summary: str
    lead: str | None
    declared_by: str | None
    channel_id: str | None
    milestones: Milestones
    card_ts: str | None = None
    channel_name: str | None = None
    checklist_ts: str | None = None
    roles: tuple[tuple[str, str], ...] = ()
    participants: tuple[str, ...] = ()
    # Participants who have left the channel (they stay in `participants`, the record of who took part).
    departed: tuple[str, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    checklists: tuple[ChecklistItemView, ...] = ()
    followups: tuple[FollowupView, ...] = ()
    statuspage: StatuspageView | None = None  # read with the timeline (exports), not for every change
    pages: tuple[PageView, ...] = ()
    severity_history: tuple[tuple[datetime, str], ...] = field(default=())
    # When someone last told the channel where things stand (declared, status, severity, reopened): recorded
    # time, so a back-dated update does not look old.
    status_updated_at: datetime | None = None
    revision: int = 0  # how many changes the incident's state has had (storage: Incident.revision)
    incident_type: str = DEFAULT_TYPE
    # The custom fields that have a value, by name (hashi.toml `[fields.<name>]`).
    fields: Mapping[str, FieldValue] = field(default_factory=dict)

    @property
    def people(self) -> frozenset[str]:
        """Everyone in the incident (who may see it when it is private)."""
        return incident_people(
            declared_by=self.declared_by,
            lead=self.lead,
            participants=self.participants,
            role_holders=(user for _, user in self.roles),
            departed=self.departed,
        )
