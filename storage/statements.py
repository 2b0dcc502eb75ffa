"""SQL the repository runs, built once, and the values it takes and gives: shared by each subject's rows."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Executable,
    Row,
    RowMapping,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import (
    ChecklistItem,
    Followup,
    Incident,
    Page,
    Participant,
    ProcessedDelivery,
    RoleAssignment,
    ScheduledReminder,
    TimelineEvent,
)

MAX_ROW_ID = 2**31 - 1  # integer primary keys are 32-bit on PostgreSQL
STATS_CHANGED = "hashi_stats_changed"  # session.info key: ids of incidents whose stats row is stale


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents a list shows: each field narrows it, None (or empty) leaves it open."""

    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    service: str | None = None
    # Incidents that started (impact start, else detection, else declaration) at or after this instant.
    started_since: datetime | None = None
    # Words the title or the summary contains, in any case.
    text: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE conditions of this filter."""
        found: list[ColumnElement[bool]] = []
        if self.statuses:
            found.append(col(Incident.status).in_(self.statuses))
        if self.severities:
            found.append(col(Incident.severity).in_(self.severities))
        if self.types:
            found.append(col(Incident.incident_type).in_(self.types))
        if self.service:
            # services is a JSON list written by json.dumps (ASCII-escaped); a name matches as a whole string.
            found.append(
                func.lower(cast(col(Incident.services), Text)).contains(
                    json.dumps(self.service.lower()), autoescape=True
                )
            )
        if self.started_since is not None:
            start = func.coalesce(
                col(Incident.impact_started_at), col(Incident.detected_at), col(Incident.declared_at)
            )
            found.append(start >= self.started_since)
        if self.text:
            for word in self.text.lower().split():
                found.append(
                    or_(
                        func.lower(col(Incident.title)).contains(word, autoescape=True),
                        func.lower(col(Incident.summary)).contains(word, autoescape=True),
                    )
                )
        return found


def in_incident_clause(user_id: str) -> ColumnElement[bool]:
    """Whether the user is in an incident: its declarer, its lead, a participant or a role holder, and has
    not left its channel."""
    member = (
        select(col(Participant.incident_id))
        .where(col(Participant.user_id) == user_id)
        .union(select(col(RoleAssignment.incident_id)).where(col(RoleAssignment.user_id) == user_id))
    )
    left = select(col(Participant.incident_id)).where(
        col(Participant.user_id) == user_id, col(Participant.left_at).is_not(None)
    )
    return and_(
        or_(
            col(Incident.declared_by) == user_id, col(Incident.lead) == user_id, col(Incident.id).in_(member)
        ),
        col(Incident.id).not_in(left),
    )


def ticket_free(stale_before: datetime) -> ColumnElement[bool]:
    """A follow-up's ticket nobody is filing: never claimed, or claimed before `stale_before`."""
    return or_(col(Followup.ticket_claimed_at).is_(None), col(Followup.ticket_claimed_at) < stale_before)


def dialect_insert(dialect: str, table: Any) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite  # the one in use is loaded already; not both

    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@cache
def insert_new(dialect: str, table: Any, unique: tuple[str, ...], returned: str) -> Executable:
    """An insert that returns column `returned` of the new row, and nothing when a row with the same
    `unique` columns is there already (no unique columns: every row is new)."""
    stmt = dialect_insert(dialect, table)
    if unique:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(unique))
    return stmt.returning(table.__table__.c[returned])  # type: ignore[no-any-return]


# What the read side reads of a timeline event (queries.entry_of), as plain rows.
EVENT_COLUMNS = (
    col(TimelineEvent.id),
    col(TimelineEvent.at),
    col(TimelineEvent.recorded_at),
    col(TimelineEvent.kind),
    col(TimelineEvent.actor),
    col(TimelineEvent.text),
    col(TimelineEvent.source_ref),
    col(TimelineEvent.permalink),
    col(TimelineEvent.data),
    col(TimelineEvent.edited_at),
    col(TimelineEvent.edited_by),
    col(TimelineEvent.previous),
)
CLAIM_LINES = (
    update(TimelineEvent)
    .where(col(TimelineEvent.incident_id) == bindparam("incident"), col(TimelineEvent.line_posted).is_(False))
    .values(line_posted=True)
    .returning(*EVENT_COLUMNS)
)
COUNT_CHANGE = (
    update(Incident)
    .where(col(Incident.id) == bindparam("incident"))
    .values(revision=col(Incident.revision) + 1)
    .returning(col(Incident.revision))
)
SHOW_CARD_REVISION = (
    update(Incident)
    .where(col(Incident.id) == bindparam("incident"), col(Incident.card_revision) < bindparam("shown"))
    .values(card_revision=bindparam("shown"))
)
# What a snapshot reads of an incident besides its row, built once: plain rows (attributes named as the
# columns), not ORM objects, since a snapshot only reads them and one is read for every change.
EVENTS = (
    select(*EVENT_COLUMNS)
    .where(col(TimelineEvent.incident_id) == bindparam("incident"), col(TimelineEvent.deleted).is_(False))
    .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
)
EVENTS_OF_KINDS = EVENTS.where(col(TimelineEvent.kind).in_(bindparam("kinds", expanding=True)))
ROLES = (
    select(col(RoleAssignment.role), col(RoleAssignment.user_id))
    .where(col(RoleAssignment.incident_id) == bindparam("incident"))
    .order_by(col(RoleAssignment.role))
)
PARTICIPANTS = (
    select(col(Participant.user_id), col(Participant.left_at))
    .where(col(Participant.incident_id) == bindparam("incident"))
    .order_by(col(Participant.joined_at))
)
CHECKLIST_ITEMS = (
    select(
        *(
            _c
            for _c in ChecklistItem.__table__.c  # type: ignore[attr-defined]
            if _c.name not in ("id", "incident_id")
        )
    )
    .where(col(ChecklistItem.incident_id) == bindparam("incident"))
    .order_by(col(ChecklistItem.playbook), col(ChecklistItem.position))
)
FOLLOWUPS = (
    select(*Followup.__table__.c)  # type: ignore[attr-defined]
    .where(col(Followup.incident_id) == bindparam("incident"))
    .order_by(col(Followup.id))
)
PAGES = (
    select(*Page.__table__.c)  # type: ignore[attr-defined]
    .where(col(Page.incident_id) == bindparam("incident"))
    .order_by(col(Page.id))
)

RUNNING_PLAYBOOKS = (
    select(col(ChecklistItem.playbook))
    .where(col(ChecklistItem.incident_id) == bindparam("incident"))
    .distinct()
)
REMINDERS = select(*ScheduledReminder.__table__.c).where(  # type: ignore[attr-defined]
    col(ScheduledReminder.incident_id) == bindparam("incident")
)


class IncidentParts(NamedTuple):
    """What a snapshot reads of an incident besides its row, as plain rows."""

    events: list[RowMapping]  # EVENT_COLUMNS
    roles: list[Row[Any]]  # role, user_id
    participants: list[Row[Any]]  # user_id, left_at; in order of joining
    checklist_items: list[Row[Any]]  # by playbook, then position
    followups: list[Row[Any]]  # in the order recorded
    pages: list[Row[Any]]  # oldest first


INCIDENT = Incident.__table__.c  # type: ignore[attr-defined]
# What a room's set-up did, recorded with its lease given back: the card's revision is the one it posted
# when it posted the first card; announcement and checklist keep an earlier set-up's message if it had none.
FINISH_SETUP = (
    update(Incident)
    .where(col(Incident.id) == bindparam("incident"))
    .values(
        card_revision=case(
            (
                and_(
                    col(Incident.card_ts).is_(None),
                    bindparam("new_card_ts", type_=INCIDENT.card_ts.type).is_not(None),
                ),
                bindparam("posted_revision", type_=INCIDENT.card_revision.type),
            ),
            else_=col(Incident.card_revision),
        ),
        card_ts=bindparam("new_card_ts", type_=INCIDENT.card_ts.type),
        card_pinned=bindparam("pinned", type_=INCIDENT.card_pinned.type),
        topic_set=or_(col(Incident.topic_set), bindparam("topic", type_=INCIDENT.topic_set.type)),
        announce_ts=func.coalesce(
            bindparam("new_announce_ts", type_=INCIDENT.announce_ts.type), col(Incident.announce_ts)
        ),
        checklist_ts=func.coalesce(
            bindparam("new_checklist_ts", type_=INCIDENT.checklist_ts.type), col(Incident.checklist_ts)
        ),
        setup_error=bindparam("error", type_=INCIDENT.setup_error.type),
        setup_claimed_at=None,
        updated_at=bindparam("at", type_=INCIDENT.updated_at.type),
    )
    .returning(col(Incident.revision), col(Incident.card_ts), col(Incident.checklist_ts))
)
INCIDENT_BY_ID = select(Incident).where(col(Incident.id) == bindparam("incident"))
INCIDENT_FOR_UPDATE = INCIDENT_BY_ID.with_for_update()
SET_CHANNEL = (
    update(Incident)
    .where(col(Incident.id) == bindparam("incident"))
    .values(channel_id=bindparam("channel"), channel_name=bindparam("name"))
)
SET_REMINDER_MESSAGE = (
    update(ScheduledReminder)
    .where(col(ScheduledReminder.id) == bindparam("reminder"))
    .values(scheduled_message_id=bindparam("message"))
)
DROP_REMINDER = (
    delete(ScheduledReminder)
    .where(col(ScheduledReminder.id) == bindparam("reminder"))
    .returning(col(ScheduledReminder.channel_id), col(ScheduledReminder.scheduled_message_id))
)


COMPLETE_DELIVERY = (
    update(ProcessedDelivery)
    .where(
        col(ProcessedDelivery.delivery_id) == bindparam("delivery"), col(ProcessedDelivery.done_at).is_(None)
    )
    .values(done_at=bindparam("finished"), body=None, outcome=bindparam("result"), claimed_until=None)
)


class NewChecklistItem(NamedTuple):
    """A checklist item to add to an incident (a playbook's item, as it applies)."""

    playbook: str
    key: str
    position: int
    title: str
    details: str
    owner_role: str | None
    required: bool
    due_at: datetime | None


class Rows:
    """Queries over one session; the caller's transaction decides when they commit (the base of each
    subject's rows, which storage.repository.Repository puts together)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # Set by Store.transaction once the unit of work is done and its commit begins: a failure after that
        # may come after the database committed (a cancelled or lost COMMIT on PostgreSQL).
        self.committing = False

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def _run(
        self, stmt: Executable, values: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> CursorResult[*tuple[Any, ...]]:
        """A statement built once (below) with this call's values, on the transaction's connection: the
        hot writes skip building SQL and the ORM's bookkeeping, which cost more than running them."""
        connection = await self.session.connection()
        return await connection.execute(stmt, values)

    def _insert(self, table: Any) -> Any:
        return dialect_insert(self._dialect, table)

    async def events(self, *, incident_id: int, kinds: Collection[str] | None = None) -> list[RowMapping]:
        """The incident's timeline (or only its events of those kinds), oldest first (ties in recording
        order), as plain rows: a long timeline is thousands of them, and rows cost less than ORM objects."""
        if kinds is None:
            return list((await self._run(EVENTS, {"incident": incident_id})).mappings())
        values = {"incident": incident_id, "kinds": sorted(kinds)}
        return list((await self._run(EVENTS_OF_KINDS, values)).mappings())
