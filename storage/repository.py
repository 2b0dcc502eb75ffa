"""Reads and writes of incident rows, inside one transaction per unit of work."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
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
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    exists,
    func,
    inspect,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from readmodel import OPEN_STATUSES
from readmodel.stats import StatsRow, collector_paused
from storage.models import (
    AlertGroup,
    ChecklistItem,
    Followup,
    Incident,
    IncidentStats,
    Page,
    Participant,
    ProcessedDelivery,
    RoleAssignment,
    ScheduledReminder,
    StatuspageIncident,
    TimelineEvent,
)
from storage.stats import (
    SEVERITY_EVENT_KINDS,
    STATS_INPUTS,
    as_stats_rows,
    micros_datetime,
    refresh_incident_stats,
    stats_rows_query,
)

MAX_ROW_ID = 2**31 - 1  # integer primary keys are 32-bit on PostgreSQL
STATS_CHANGED = "hashi_stats_changed"  # session.info key: ids of incidents whose stats row is stale


class _Session(Session):
    """The ORM session behind each transaction; notes the incidents whose stats inputs a flush changed."""


@event.listens_for(_Session, "after_flush")
def _note_stats_changes(session: Session, _context: Any) -> None:
    changed: set[int] = session.info.setdefault(STATS_CHANGED, set())
    for obj in session.new:
        if isinstance(obj, Incident) and obj.id is not None:
            changed.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, Incident) and obj.id is not None:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in STATS_INPUTS):
                changed.add(obj.id)
        elif isinstance(obj, TimelineEvent) and obj.kind in SEVERITY_EVENT_KINDS:
            changed.add(obj.incident_id)


class Turns:
    """A lock handed on first come first served, except that urgent waiters go before the others."""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def take(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """Holds the lock for the block."""
        if self._busy:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._others).append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._hand_on()  # handed the lock, then cancelled: pass it on
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        for queue in (self._urgent, self._others):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._busy = False


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


def _is_in(user_id: str) -> ColumnElement[bool]:
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


def _ticket_free(stale_before: datetime) -> ColumnElement[bool]:
    """A follow-up's ticket nobody is filing: never claimed, or claimed before `stale_before`."""
    return or_(col(Followup.ticket_claimed_at).is_(None), col(Followup.ticket_claimed_at) < stale_before)


def _dialect_insert(dialect: str, table: Any) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite  # the one in use is loaded already; not both

    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@cache
def _insert_new(dialect: str, table: Any, unique: tuple[str, ...], returned: str) -> Executable:
    """An insert that returns column `returned` of the new row, and nothing when a row with the same
    `unique` columns is there already (no unique columns: every row is new)."""
    stmt = _dialect_insert(dialect, table)
    if unique:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(unique))
    return stmt.returning(table.__table__.c[returned])  # type: ignore[no-any-return]


# What the read side reads of a timeline event (queries.entry_of), as plain rows.
_EVENT_COLUMNS = (
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
_CLAIM_LINES = (
    update(TimelineEvent)
    .where(col(TimelineEvent.incident_id) == bindparam("incident"), col(TimelineEvent.line_posted).is_(False))
    .values(line_posted=True)
    .returning(*_EVENT_COLUMNS)
)
_COUNT_CHANGE = (
    update(Incident)
    .where(col(Incident.id) == bindparam("incident"))
    .values(revision=col(Incident.revision) + 1)
    .returning(col(Incident.revision))
)
_SHOW_CARD_REVISION = (
    update(Incident)
    .where(col(Incident.id) == bindparam("incident"), col(Incident.card_revision) < bindparam("shown"))
    .values(card_revision=bindparam("shown"))
)
# What a snapshot reads of an incident besides its row, built once: plain rows (attributes named as the
# columns), not ORM objects, since a snapshot only reads them and one is read for every change.
_EVENTS = (
    select(*_EVENT_COLUMNS)
    .where(col(TimelineEvent.incident_id) == bindparam("incident"), col(TimelineEvent.deleted).is_(False))
    .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
)
_EVENTS_OF_KINDS = _EVENTS.where(col(TimelineEvent.kind).in_(bindparam("kinds", expanding=True)))
_ROLES = (
    select(col(RoleAssignment.role), col(RoleAssignment.user_id))
    .where(col(RoleAssignment.incident_id) == bindparam("incident"))
    .order_by(col(RoleAssignment.role))
)
_PARTICIPANTS = (
    select(col(Participant.user_id), col(Participant.left_at))
    .where(col(Participant.incident_id) == bindparam("incident"))
    .order_by(col(Participant.joined_at))
)
_CHECKLIST_ITEMS = (
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
_FOLLOWUPS = (
    select(*Followup.__table__.c)  # type: ignore[attr-defined]
    .where(col(Followup.incident_id) == bindparam("incident"))
    .order_by(col(Followup.id))
)
_PAGES = (
    select(*Page.__table__.c)  # type: ignore[attr-defined]
    .where(col(Page.incident_id) == bindparam("incident"))
    .order_by(col(Page.id))
)

_RUNNING_PLAYBOOKS = (
    select(col(ChecklistItem.playbook))
    .where(col(ChecklistItem.incident_id) == bindparam("incident"))
    .distinct()
)
_REMINDERS = select(*ScheduledReminder.__table__.c).where(  # type: ignore[attr-defined]
    col(ScheduledReminder.incident_id) == bindparam("incident")
)


class IncidentParts(NamedTuple):
    """What a snapshot reads of an incident besides its row, as plain rows."""

    events: list[RowMapping]  # _EVENT_COLUMNS
    roles: list[Row[Any]]  # role, user_id
    participants: list[Row[Any]]  # user_id, left_at; in order of joining
    checklist_items: list[Row[Any]]  # by playbook, then position
    followups: list[Row[Any]]  # in the order recorded
    pages: list[Row[Any]]  # oldest first


_INCIDENT = Incident.__table__.c  # type: ignore[attr-defined]
# What a room's set-up did, recorded with its lease given back: the card's revision is the one it posted
# when it posted the first card; announcement and checklist keep an earlier set-up's message if it had none.
_FINISH_SETUP = (
    update(Incident)
    .where(col(Incident.id) == bindparam("incident"))
    .values(
        card_revision=case(
            (
                and_(
                    col(Incident.card_ts).is_(None),
                    bindparam("new_card_ts", type_=_INCIDENT.card_ts.type).is_not(None),
                ),
                bindparam("posted_revision", type_=_INCIDENT.card_revision.type),
            ),
            else_=col(Incident.card_revision),
        ),
        card_ts=bindparam("new_card_ts", type_=_INCIDENT.card_ts.type),
        card_pinned=bindparam("pinned", type_=_INCIDENT.card_pinned.type),
        topic_set=or_(col(Incident.topic_set), bindparam("topic", type_=_INCIDENT.topic_set.type)),
        announce_ts=func.coalesce(
            bindparam("new_announce_ts", type_=_INCIDENT.announce_ts.type), col(Incident.announce_ts)
        ),
        checklist_ts=func.coalesce(
            bindparam("new_checklist_ts", type_=_INCIDENT.checklist_ts.type), col(Incident.checklist_ts)
        ),
        setup_error=bindparam("error", type_=_INCIDENT.setup_error.type),
        setup_claimed_at=None,
        updated_at=bindparam("at", type_=_INCIDENT.updated_at.type),
    )
    .returning(col(Incident.revision), col(Incident.card_ts), col(Incident.checklist_ts))
)
_INCIDENT_BY_ID = select(Incident).where(col(Incident.id) == bindparam("incident"))
_INCIDENT_FOR_UPDATE = _INCIDENT_BY_ID.with_for_update()
_SET_CHANNEL = (
    update(Incident)
    .where(col(Incident.id) == bindparam("incident"))
    .values(channel_id=bindparam("channel"), channel_name=bindparam("name"))
)
_SET_REMINDER_MESSAGE = (
    update(ScheduledReminder)
    .where(col(ScheduledReminder.id) == bindparam("reminder"))
    .values(scheduled_message_id=bindparam("message"))
)
_DROP_REMINDER = (
    delete(ScheduledReminder)
    .where(col(ScheduledReminder.id) == bindparam("reminder"))
    .returning(col(ScheduledReminder.channel_id), col(ScheduledReminder.scheduled_message_id))
)


_COMPLETE_DELIVERY = (
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


class Store:
    """Hands out repositories bound to one transaction each; `pause`, when given, is awaited before each
    transaction begins (the Slack app lets waiting answers go first there, see bot.slack.turns)."""

    def __init__(self, engine: AsyncEngine, *, pause: Callable[[], Awaitable[None]] | None = None) -> None:
        self.engine = engine
        self.pause = pause
        self._sessions = async_sessionmaker(
            engine, class_=AsyncSession, sync_session_class=_Session, expire_on_commit=False
        )
        # SQLite has one writer at a time, and every transaction here takes the write lock at BEGIN
        # (storage.db). Waiting for it in SQLite's busy handler means sleeping up to 100 ms at a time while
        # the lock may already be free, so the unlucky wait for seconds: this process's own transactions
        # queue here instead, first come first served. The busy timeout still covers other processes.
        # What must be written before Slack is answered (the durable inbox) goes ahead of the queue.
        self._turn: Turns | None = Turns() if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def _connection_turn(self, *, urgent: bool = False) -> AsyncIterator[None]:
        if self._turn is None:
            yield
        else:
            async with self._turn.take(urgent=urgent):
                yield

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Repository]:
        """One unit of work: commits when the block ends, rolls back when it raises."""
        if self.pause is not None:
            await self.pause()
        async with self._connection_turn(), self._sessions() as session, session.begin():
            repo = Repository(session)
            yield repo
            await repo.refresh_stats()  # the stats rows of what this transaction changed, in it

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection in one transaction, in this process's turn but without the pause before it (for
        what must be written before Slack is answered: the durable inbox)."""
        async with self._connection_turn(urgent=True), self.engine.begin() as conn:
            yield conn

    async def revision(self, *, incident_id: int) -> int | None:
        """The incident's revision as committed now (None when there is no such incident): one number, read
        on a bare connection rather than in a unit of work, for a change to check after its Slack effects."""
        stmt = select(col(Incident.revision)).where(col(Incident.id) == incident_id)
        async with self._connection_turn(), self.engine.connect() as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def ping(self) -> bool:
        """Whether the database answers."""
        async with self._connection_turn(), self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return True


class Repository:
    """Queries over one session; the caller's transaction decides when they commit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        return _dialect_insert(self._dialect, table)

    # Incidents

    async def add_incident(self, *, incident: Incident) -> tuple[Incident, bool]:
        """Inserts an incident; with a request_key already stored, returns that one and False."""
        if incident.request_key is None:
            self.session.add(incident)
            await self.session.flush()
            return incident, True
        values = incident.model_dump(exclude={"id"})
        stmt = _insert_new(self._dialect, Incident, ("request_key",), "id")
        new_id = (await self._run(stmt, values)).scalar_one_or_none()
        if new_id is None:
            existing = await self.incident_by_request_key(request_key=incident.request_key)
            assert existing is not None
            return existing, False
        # The row holds what was inserted, every column given: it joins the session as stored, unread.
        incident.id = new_id
        make_transient_to_detached(incident)
        self.session.add(incident)
        return incident, True

    async def incident(self, *, incident_id: int, for_update: bool = False) -> Incident | None:
        """The incident with that id (None for an id no row can have)."""
        if not 0 < incident_id <= MAX_ROW_ID:
            return None
        stmt = _INCIDENT_FOR_UPDATE if for_update else _INCIDENT_BY_ID
        return (await self.session.execute(stmt, {"incident": incident_id})).scalar_one_or_none()

    async def count_change(self, row: Incident) -> None:
        """Adds one to the incident's revision in the database (atomic, whoever else changes it meanwhile);
        `row` learns the new value."""
        revision = (await self._run(_COUNT_CHANGE, {"incident": row.id})).scalar_one()
        set_committed_value(row, "revision", revision)

    async def incident_by_request_key(self, *, request_key: str) -> Incident | None:
        """The incident a request declared."""
        stmt = select(Incident).where(col(Incident.request_key) == request_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def incident_by_channel(self, *, channel_id: str) -> Incident | None:
        """The incident whose room is that channel."""
        stmt = select(Incident).where(col(Incident.channel_id) == channel_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def incidents(
        self, *, open_only: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[Incident]:
        """Incidents, newest first."""
        stmt = select(Incident).order_by(col(Incident.id).desc())
        if open_only:
            stmt = stmt.where(col(Incident.status).in_(OPEN_STATUSES))
        if limit is not None:
            stmt = stmt.limit(limit)
        return list((await self.session.execute(stmt.offset(offset))).scalars())

    async def incidents_visible_to(
        self,
        *,
        user_id: str,
        open_only: bool = True,
        limit: int | None = None,
        offset: int = 0,
        wanted: IncidentFilter | None = None,
    ) -> tuple[list[Incident], int]:
        """A page of the incidents the user may see (public ones, private ones they are part of), newest
        first (`wanted`: only those it picks, open ones first), and how many there are in all."""
        stmt = select(Incident).where(or_(col(Incident.private).is_(False), _is_in(user_id)))
        if open_only:
            stmt = stmt.where(col(Incident.status).in_(OPEN_STATUSES))
        if wanted is not None:
            stmt = stmt.where(*wanted.conditions())
        total = (await self.session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        if wanted is not None:  # open incidents first: they are what a person looks for
            stmt = stmt.order_by(col(Incident.status).in_(OPEN_STATUSES).desc())
        stmt = stmt.order_by(col(Incident.id).desc()).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        return list((await self.session.execute(stmt)).scalars()), int(total)

    async def open_private_rooms(self) -> list[tuple[int, str]]:
        """(incident id, channel id) of every open private incident that has its channel."""
        stmt = (
            select(col(Incident.id), col(Incident.channel_id))
            .where(
                col(Incident.private).is_(True),
                col(Incident.status).in_(OPEN_STATUSES),
                col(Incident.channel_id).is_not(None),
            )
            .order_by(col(Incident.id))
        )
        return [(int(row[0] or 0), str(row[1])) for row in (await self.session.execute(stmt)).all()]

    async def private_incidents_of(self, *, user_id: str) -> set[int]:
        """The ids of the private incidents the user is in (declarer, lead, participant or role holder)."""
        stmt = select(col(Incident.id)).where(col(Incident.private).is_(True), _is_in(user_id))
        return {int(row or 0) for row in (await self.session.execute(stmt)).scalars()}

    async def stats_rows(self, *, since: datetime, until: datetime) -> list[StatsRow]:
        """The stats rows of the incidents that started in the window, or before it and were still hurting
        inside it (availability), in id order (storage.stats.stats_rows_query)."""
        with collector_paused():  # across the await too: it is the rows' arrival that sets the collector off
            return as_stats_rows(await self._driver_rows(stats_rows_query(since=since, until=until)))

    async def first_start(self) -> datetime | None:
        """When the first incident recorded started (impact start, else detection, else declaration)."""
        first = (await self.session.execute(select(func.min(col(IncidentStats.window_start_us))))).scalar()
        return None if first is None else micros_datetime(int(first))

    async def refresh_stats(self, incident_ids: Collection[int] | None = None) -> int:
        """Rebuilds the stats rows of the incidents this transaction changed (flushing first), or of the
        ones given; returns how many rows it wrote."""
        await self.session.flush()
        changed: set[int] = self.session.info.pop(STATS_CHANGED, set())
        ids = changed if incident_ids is None else changed | set(incident_ids)
        if not ids:
            return 0
        connection = await self.session.connection()
        return await connection.run_sync(refresh_incident_stats, ids)

    async def _driver_rows(self, stmt: Select[Any]) -> list[Sequence[Any]]:
        """The rows of a query of plain columns (integers, text, booleans: nothing a type has to convert),
        run by the database driver itself on the session's connection, inside its transaction: for a
        hundred thousand rows, building SQLAlchemy rows costs as much as the query."""
        connection = await self.session.connection()
        compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        params = [compiled.params[name] for name in compiled.positiontup or ()]
        driver = (await connection.get_raw_connection()).driver_connection
        try:
            if connection.dialect.name == "postgresql":
                return list(await driver.fetch(compiled.string, *params))  # type: ignore[union-attr]
            cursor = await driver.execute(compiled.string, params)  # type: ignore[union-attr]
            try:
                return list(await cursor.fetchall())
            finally:
                await cursor.close()
        except Exception as exc:  # the driver's own error, raised as SQLAlchemy raises any other query's
            raise DBAPIError(compiled.string, params, exc) from exc

    async def set_channel(self, *, incident_id: int, channel_id: str, name: str) -> None:
        """Records the incident's channel."""
        await self._run(_SET_CHANNEL, {"incident": incident_id, "channel": channel_id, "name": name})

    async def finish_setup(
        self,
        *,
        incident_id: int,
        card_ts: str | None,
        posted_revision: int,
        pinned: bool,
        topic: bool,
        announce_ts: str | None,
        checklist_ts: str | None,
        error: str,
        at: datetime,
    ) -> tuple[int, str | None, str | None] | None:
        """Records what a room's set-up did and gives its lease back (one statement); returns the incident's
        revision, card and checklist message as stored now (None: no such incident)."""
        values = {
            "incident": incident_id,
            "new_card_ts": card_ts,
            "posted_revision": posted_revision,
            "pinned": pinned,
            "topic": topic,
            "new_announce_ts": announce_ts,
            "new_checklist_ts": checklist_ts,
            "error": error,
            "at": at,
        }
        row = (await self._run(_FINISH_SETUP, values)).one_or_none()
        return (int(row[0]), row[1], row[2]) if row else None

    async def release_setup(self, *, incident_id: int) -> None:
        """Gives the set-up lease back (another attempt may start at once)."""
        stmt = (
            update(Incident)
            .where(col(Incident.id) == incident_id)
            .values(setup_claimed_at=None, setup_claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)

    async def claim_setup(
        self,
        *,
        incident_id: int,
        at: datetime,
        stale_before: datetime,
        owner: str | None = None,
        mine_before: datetime | None = None,
    ) -> bool:
        """Takes the set-up lease of an incident for `owner` unless someone took it after `stale_before`;
        `owner`'s own lease from before `mine_before` (an earlier life of this replica) is free too."""
        free = [col(Incident.setup_claimed_at).is_(None), col(Incident.setup_claimed_at) < stale_before]
        if owner is not None and mine_before is not None:
            free.append(
                (col(Incident.setup_claimed_by) == owner) & (col(Incident.setup_claimed_at) < mine_before)
            )
        stmt = (
            update(Incident)
            .where(col(Incident.id) == incident_id, or_(*free))
            .values(setup_claimed_at=at, setup_claimed_by=owner)
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def incidents_needing_setup(self) -> list[Incident]:
        """Open incidents whose Slack room is incomplete."""
        stmt = (
            select(Incident)
            .where(col(Incident.setup_error) != "", col(Incident.status).in_(OPEN_STATUSES))
            .order_by(col(Incident.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    # Timeline

    async def add_event(
        self,
        *,
        incident_id: int,
        at: datetime,
        recorded_at: datetime,
        kind: str,
        actor: str | None,
        text: str,
        source_ref: str | None = None,
        permalink: str | None = None,
        data: dict[str, Any] | None = None,
        line_posted: bool | None = None,
    ) -> int | None:
        """Adds an event (`line_posted=False`: the channel is to be told of it in a line); returns its id, or
        None when an event with that source_ref is already stored."""
        values = {
            "incident_id": incident_id,
            "at": at,
            "recorded_at": recorded_at,
            "kind": kind,
            "actor": actor,
            "text": text,
            "source_ref": source_ref,
            "permalink": permalink,
            "deleted": False,
            "data": data or {},
            "line_posted": line_posted,
        }
        unique = ("incident_id", "source_ref") if source_ref is not None else ()
        result = await self._run(_insert_new(self._dialect, TimelineEvent, unique, "id"), values)
        if kind in SEVERITY_EVENT_KINDS:  # stats read the severity history from these
            self.session.info.setdefault(STATS_CHANGED, set()).add(incident_id)
        return result.scalar_one_or_none()

    async def event_by_source(self, *, incident_id: int, source_ref: str) -> TimelineEvent | None:
        """The event that came from that Slack message."""
        stmt = select(TimelineEvent).where(
            col(TimelineEvent.incident_id) == incident_id, col(TimelineEvent.source_ref) == source_ref
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def event(self, *, incident_id: int, event_id: int) -> TimelineEvent | None:
        """One event of that incident (None when the id is another incident's, or no event's)."""
        stmt = select(TimelineEvent).where(
            col(TimelineEvent.incident_id) == incident_id, col(TimelineEvent.id) == event_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def latest_events(
        self, *, incident_id: int, limit: int, offset: int
    ) -> tuple[list[RowMapping], int]:
        """A page of the incident's timeline, newest first (by when it happened), and its number of events."""
        alive = (col(TimelineEvent.incident_id) == incident_id, col(TimelineEvent.deleted).is_(False))
        stmt = (
            select(*_EVENT_COLUMNS)
            .where(*alive)
            .order_by(col(TimelineEvent.at).desc(), col(TimelineEvent.id).desc())
            .limit(limit)
            .offset(offset)
        )
        rows = list((await self.session.execute(stmt)).mappings())
        total = (await self.session.execute(select(func.count()).where(*alive))).scalar_one()
        return rows, int(total)

    async def events(self, *, incident_id: int, kinds: Collection[str] | None = None) -> list[RowMapping]:
        """The incident's timeline (or only its events of those kinds), oldest first (ties in recording
        order), as plain rows: a long timeline is thousands of them, and rows cost less than ORM objects."""
        if kinds is None:
            return list((await self._run(_EVENTS, {"incident": incident_id})).mappings())
        values = {"incident": incident_id, "kinds": sorted(kinds)}
        return list((await self._run(_EVENTS_OF_KINDS, values)).mappings())

    async def events_page(
        self, *, incident_id: int, limit: int, offset: int = 0
    ) -> tuple[list[RowMapping], int]:
        """One page of the incident's timeline in the order of events(), and how many events it has."""
        live = (col(TimelineEvent.incident_id) == incident_id, col(TimelineEvent.deleted).is_(False))
        total = (
            await self.session.execute(select(func.count()).select_from(TimelineEvent).where(*live))
        ).scalar_one()
        stmt = (
            select(*_EVENT_COLUMNS)
            .where(*live)
            .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.execute(stmt)).mappings()), int(total)

    async def claim_lines(self, *, incident_id: int) -> list[RowMapping]:
        """Takes the incident's changes not yet told in the channel (so no one else posts them), oldest
        first, as event rows."""
        rows = list((await self._run(_CLAIM_LINES, {"incident": incident_id})).mappings())
        return sorted(rows, key=lambda row: int(row["id"]))

    async def show_card_revision(self, *, incident_id: int, revision: int) -> None:
        """Notes that the card shows `revision` now (never lowering what an overtaking update noted)."""
        await self._run(_SHOW_CARD_REVISION, {"incident": incident_id, "shown": revision})

    async def incidents_with_effects_to_show(self) -> list[int]:
        """Incidents whose card or channel has not been shown a committed change (a crash after the commit,
        a Slack failure)."""
        lines = select(col(TimelineEvent.incident_id)).where(col(TimelineEvent.line_posted).is_(False))
        cards = select(col(Incident.id)).where(
            col(Incident.card_ts).is_not(None), col(Incident.card_revision) < col(Incident.revision)
        )
        stmt = lines.union(cards)
        return sorted({int(row[0]) for row in (await self.session.execute(stmt)).all()})

    # Roles and people

    async def set_role(self, *, incident_id: int, role: str, user_id: str, at: datetime) -> None:
        """Gives a role to a user, replacing whoever held it."""
        stmt = (
            self._insert(RoleAssignment)
            .values(incident_id=incident_id, role=role, user_id=user_id, assigned_at=at)
            .on_conflict_do_update(
                index_elements=["incident_id", "role"], set_={"user_id": user_id, "assigned_at": at}
            )
        )
        await self.session.execute(stmt)

    async def parts(self, *, incident_id: int, kinds: Collection[str] | None = None) -> IncidentParts:
        """What a snapshot reads of an incident besides its row: its timeline (or only its events of those
        kinds), roles, participants, checklist items, follow-ups and pages, as plain rows."""
        given = {"incident": incident_id}
        if kinds is None:
            events = (await self._run(_EVENTS, given)).mappings()
        else:
            events = (await self._run(_EVENTS_OF_KINDS, {**given, "kinds": sorted(kinds)})).mappings()
        return IncidentParts(
            events=list(events),
            roles=list(await self._run(_ROLES, given)),
            participants=list(await self._run(_PARTICIPANTS, given)),
            checklist_items=list(await self._run(_CHECKLIST_ITEMS, given)),
            followups=list(await self._run(_FOLLOWUPS, given)),
            pages=list(await self._run(_PAGES, given)),
        )

    async def add_participant(self, *, incident_id: int, user_id: str, at: datetime) -> bool:
        """Records a participant once; False when already recorded."""
        values = {"incident_id": incident_id, "user_id": user_id, "joined_at": at}
        stmt = _insert_new(self._dialect, Participant, ("incident_id", "user_id"), "user_id")
        return (await self._run(stmt, values)).scalar_one_or_none() is not None

    async def is_in(self, *, incident_id: int, user_id: str, named: bool) -> bool:
        """Whether the user is in the incident: `named` on its row (declarer, lead), a participant or a role
        holder, and has not left its channel (one query)."""
        here = col(Participant.incident_id) == incident_id, col(Participant.user_id) == user_id
        held = col(RoleAssignment.incident_id) == incident_id, col(RoleAssignment.user_id) == user_id
        stmt = select(
            and_(
                or_(literal(named), exists().where(*here), exists().where(*held)),
                ~exists().where(*here, col(Participant.left_at).is_not(None)),
            )
        )
        return bool((await self.session.execute(stmt)).scalar())

    async def join(self, *, incident_id: int, user_id: str, at: datetime) -> bool:
        """Records someone who joined the incident's channel (again: they are back); False when they were
        recorded and in it already."""
        stmt = (
            self._insert(Participant)
            .values(incident_id=incident_id, user_id=user_id, joined_at=at)
            .on_conflict_do_update(
                index_elements=["incident_id", "user_id"],
                set_={"left_at": None},
                where=col(Participant.left_at).is_not(None),
            )
            .returning(col(Participant.user_id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def leave(self, *, incident_id: int, user_id: str, at: datetime) -> bool:
        """Records someone who left the incident's channel; False when that was known already."""
        stmt = (
            self._insert(Participant)
            .values(incident_id=incident_id, user_id=user_id, joined_at=at, left_at=at)
            .on_conflict_do_update(
                index_elements=["incident_id", "user_id"],
                set_={"left_at": at},
                where=col(Participant.left_at).is_(None),
            )
            .returning(col(Participant.user_id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def participants(self, *, incident_id: int) -> list[Participant]:
        """Everyone recorded on the incident, in order of joining."""
        stmt = select(Participant).where(col(Participant.incident_id) == incident_id)
        return list((await self.session.execute(stmt.order_by(col(Participant.joined_at)))).scalars())

    # Follow-ups and checklists

    async def add_followup(self, *, followup: Followup) -> Followup:
        """Stores a follow-up action item."""
        self.session.add(followup)
        await self.session.flush()
        return followup

    async def followup(self, *, followup_id: int) -> Followup | None:
        """One follow-up by its id."""
        return await self.session.get(Followup, followup_id)

    async def claim_ticket(
        self, *, followup_id: int, at: datetime, stale_before: datetime, owner: str | None
    ) -> bool:
        """Takes the filing of a follow-up's ticket for `owner` unless it is filed already or someone else
        claimed it after `stale_before` (one filer at a time: the ticket is never filed twice at once)."""
        stmt = (
            update(Followup)
            .where(
                col(Followup.id) == followup_id,
                col(Followup.ticket_state) == "pending",
                _ticket_free(stale_before),
            )
            .values(ticket_claimed_at=at, ticket_claimed_by=owner)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def tickets_to_file(self, *, stale_before: datetime) -> list[int]:
        """Follow-ups whose ticket is not filed and nobody is filing (a failure, a crash), oldest first."""
        stmt = (
            select(col(Followup.id))
            .where(
                col(Followup.ticket_state) == "pending",
                _ticket_free(stale_before),
            )
            .order_by(col(Followup.id))
        )
        return [int(row[0] or 0) for row in (await self.session.execute(stmt)).all()]

    async def followup_by_ticket(self, *, tracker: str, key: str) -> Followup | None:
        """The follow-up whose ticket that is."""
        stmt = select(Followup).where(col(Followup.tracker) == tracker, col(Followup.ticket_key) == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_tickets(self, *, tracker: str) -> list[Followup]:
        """Follow-ups whose ticket in `tracker` is open, oldest first."""
        stmt = (
            select(Followup)
            .where(col(Followup.tracker) == tracker, col(Followup.ticket_state) == "open")
            .order_by(col(Followup.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def all_followups(self, *, open_only: bool) -> list[tuple[Followup, Incident]]:
        """Every follow-up with its incident (only those not done: `open_only`), oldest first."""
        stmt = select(Followup, Incident).join(Incident, col(Incident.id) == col(Followup.incident_id))
        if open_only:
            stmt = stmt.where(col(Followup.done).is_(False))
        stmt = stmt.order_by(col(Followup.created_at), col(Followup.id))
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]

    # The status page

    async def statuspage(self, *, incident_id: int, for_update: bool = False) -> StatuspageIncident | None:
        """The Statuspage incident an incident published, if any."""
        return await self.session.get(StatuspageIncident, incident_id, with_for_update=for_update)

    async def add_statuspage(self, *, page: StatuspageIncident) -> bool:
        """Records a Statuspage incident to open; False when the incident has one already."""
        values = page.model_dump()
        stmt = _insert_new(self._dialect, StatuspageIncident, ("incident_id",), "incident_id")
        return (await self._run(stmt, values)).scalar_one_or_none() is not None

    async def claim_statuspage(
        self, *, incident_id: int, at: datetime, stale_before: datetime, owner: str | None
    ) -> bool:
        """Takes the sending of an incident's Statuspage incident (its opening, or an update asked for) unless
        nothing waits to be sent or someone else claimed it after `stale_before`."""
        stmt = (
            update(StatuspageIncident)
            .where(
                col(StatuspageIncident.incident_id) == incident_id,
                col(StatuspageIncident.sent) < col(StatuspageIncident.asked),
                or_(
                    col(StatuspageIncident.claimed_at).is_(None),
                    col(StatuspageIncident.claimed_at) < stale_before,
                ),
            )
            .values(claimed_at=at, claimed_by=owner)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def statuspages_to_send(self, *, stale_before: datetime) -> list[int]:
        """Incidents whose Statuspage incident has an opening or update not sent, and nobody is sending it."""
        stmt = (
            select(col(StatuspageIncident.incident_id))
            .where(
                col(StatuspageIncident.sent) < col(StatuspageIncident.asked),
                or_(
                    col(StatuspageIncident.claimed_at).is_(None),
                    col(StatuspageIncident.claimed_at) < stale_before,
                ),
            )
            .order_by(col(StatuspageIncident.incident_id))
        )
        return [int(row[0]) for row in (await self.session.execute(stmt)).all()]

    async def add_checklist_items(self, *, incident_id: int, items: Sequence[NewChecklistItem]) -> int:
        """Adds checklist items, skipping ones already there; returns how many were new (one statement)."""
        if not items:
            return 0
        stmt = _insert_new(self._dialect, ChecklistItem, ("incident_id", "playbook", "key"), "id")
        rows = [{"incident_id": incident_id, **item._asdict(), "done": False} for item in items]
        return len((await self._run(stmt, rows)).all())

    async def running_playbooks(self, *, incident_id: int) -> set[str]:
        """The playbooks whose checklists run on the incident."""
        return {
            str(name) for name in (await self._run(_RUNNING_PLAYBOOKS, {"incident": incident_id})).scalars()
        }

    async def checklist_items(self, *, incident_id: int) -> list[ChecklistItem]:
        """The incident's checklist items, by playbook then position."""
        stmt = (
            select(ChecklistItem)
            .where(col(ChecklistItem.incident_id) == incident_id)
            .order_by(col(ChecklistItem.playbook), col(ChecklistItem.position))
        )
        return list((await self.session.execute(stmt)).scalars())

    # Reminders

    async def reminders(self, *, incident_id: int) -> list[Row[Any]]:
        """Reminders waiting in Slack's scheduler for the incident (plain rows, named as the columns)."""
        return list(await self._run(_REMINDERS, {"incident": incident_id}))

    async def incidents_with_reminders_before(self, *, at: datetime) -> list[int]:
        """Open incidents with a reminder due before `at` (Slack has posted it: what comes next is due)."""
        stmt = (
            select(col(ScheduledReminder.incident_id))
            .join(Incident, col(Incident.id) == col(ScheduledReminder.incident_id))
            .where(col(ScheduledReminder.post_at) < at, col(Incident.status).in_(OPEN_STATUSES))
            .distinct()
            .order_by(col(ScheduledReminder.incident_id))
        )
        return [int(row[0]) for row in (await self.session.execute(stmt)).all()]

    async def incidents_with_unrecorded_reminders(self) -> list[int]:
        """Incidents with a reminder whose Slack id was never recorded (a crash while Slack scheduled it)."""
        stmt = (
            select(col(ScheduledReminder.incident_id))
            .where(col(ScheduledReminder.scheduled_message_id).is_(None))
            .distinct()
            .order_by(col(ScheduledReminder.incident_id))
        )
        return [int(row[0]) for row in (await self.session.execute(stmt)).all()]

    async def claim_reminder(
        self, *, incident_id: int, reason: str, channel_id: str, post_at: datetime
    ) -> int | None:
        """Claims the slot of one reminder; None when it is already there (another replica, a retry)."""
        values = {"incident_id": incident_id, "reason": reason, "channel_id": channel_id, "post_at": post_at}
        stmt = _insert_new(self._dialect, ScheduledReminder, ("incident_id", "reason"), "id")
        return (await self._run(stmt, values)).scalar_one_or_none()

    async def set_reminder_message(self, *, reminder_id: int, scheduled_message_id: str) -> bool:
        """Records the id Slack's scheduler gave a claimed reminder; False when the claim is gone (a later
        change, maybe at another replica, dropped it meanwhile)."""
        values = {"reminder": reminder_id, "message": scheduled_message_id}
        return bool((await self._run(_SET_REMINDER_MESSAGE, values)).rowcount)

    async def drop_reminder(self, *, reminder_id: int) -> tuple[str, str | None] | None:
        """Removes a reminder row; returns (channel, scheduled message id) to the one who removed it."""
        row = (await self._run(_DROP_REMINDER, {"reminder": reminder_id})).one_or_none()
        return (row[0], row[1]) if row else None

    async def open_counts(self) -> tuple[dict[str, int], int]:
        """Open incidents by severity, and how many reminders wait in Slack's scheduler."""
        stmt = (
            select(col(Incident.severity), func.count())
            .where(col(Incident.status).in_(OPEN_STATUSES))
            .group_by(col(Incident.severity))
        )
        by_severity = {str(row[0]): int(row[1]) for row in (await self.session.execute(stmt)).all()}
        reminders = (
            await self.session.execute(select(func.count()).select_from(ScheduledReminder))
        ).scalar_one()
        return by_severity, int(reminders)

    # Alert groups and pages

    async def alert_group(
        self, *, source: str, group_hash: str, for_update: bool = False
    ) -> AlertGroup | None:
        """The incident link of an alert group, if it opened one."""
        stmt = select(AlertGroup).where(
            col(AlertGroup.source) == source, col(AlertGroup.group_hash) == group_hash
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def link_alert_group(
        self, *, source: str, group_hash: str, group_key: str, incident_id: int, at: datetime
    ) -> bool:
        """Links an alert group to the incident it opened; False when the group is linked already (the
        caller checks whether that incident is still open and relinks with `relink_alert_group`)."""
        stmt = (
            self._insert(AlertGroup)
            .values(
                source=source,
                group_hash=group_hash,
                group_key=group_key,
                incident_id=incident_id,
                updated_at=at,
            )
            .on_conflict_do_nothing(index_elements=["source", "group_hash"])
            .returning(col(AlertGroup.incident_id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def relink_alert_group(
        self, *, source: str, group_hash: str, from_incident: int, to_incident: int, at: datetime
    ) -> bool:
        """Moves a group's link from a finished incident to a new one, unless someone moved it first."""
        stmt = (
            update(AlertGroup)
            .where(
                col(AlertGroup.source) == source,
                col(AlertGroup.group_hash) == group_hash,
                col(AlertGroup.incident_id) == from_incident,
            )
            .values(incident_id=to_incident, updated_at=at)
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def add_page(self, *, page: Page) -> bool:
        """Records a page to send; False when the same request recorded it already."""
        stmt = _insert_new(self._dialect, Page, ("incident_id", "request_key"), "id")
        values = page.model_dump(exclude={"id"})
        return (await self.session.execute(stmt, [values])).first() is not None

    async def pages(self, *, incident_id: int) -> list[Page]:
        """The incident's pages, oldest first."""
        stmt = select(Page).where(col(Page.incident_id) == incident_id).order_by(col(Page.id))
        return list((await self.session.execute(stmt)).scalars())

    async def pages_due(self, *, at: datetime, incident_id: int | None = None) -> list[Page]:
        """Pages not sent yet whose next attempt is due (of one incident, or all), oldest first."""
        stmt = select(Page).where(
            col(Page.status) == "pending",
            or_(col(Page.next_attempt_at).is_(None), col(Page.next_attempt_at) <= at),
        )
        if incident_id is not None:
            stmt = stmt.where(col(Page.incident_id) == incident_id)
        return list((await self.session.execute(stmt.order_by(col(Page.id)))).scalars())

    async def claim_page(self, *, page_id: int, at: datetime, until: datetime) -> bool:
        """Takes a due page to send now (its next attempt moves to `until`, so no one else sends it
        meanwhile); False when another sender took it or it was sent."""
        stmt = (
            update(Page)
            .where(
                col(Page.id) == page_id,
                col(Page.status) == "pending",
                or_(col(Page.next_attempt_at).is_(None), col(Page.next_attempt_at) <= at),
            )
            .values(next_attempt_at=until, attempts=col(Page.attempts) + 1)
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def finish_page(
        self, *, page_id: int, status: str, at: datetime, error: str = "", retry_at: datetime | None = None
    ) -> None:
        """Records how sending a page went: sent, failed for good, or pending again at `retry_at`."""
        values: dict[str, Any] = {"status": status, "error": error[:500], "next_attempt_at": retry_at}
        if status == "sent":
            values["sent_at"] = at
        await self.session.execute(update(Page).where(col(Page.id) == page_id).values(**values))

    # The durable inbox (storage.inbox records and claims; the change a delivery asked for completes it)

    async def complete_delivery(self, *, delivery_id: str, at: datetime, outcome: str = "done") -> bool:
        """Marks a delivery done in this transaction; False when it already was (another replica, or an
        earlier life of this one, finished it: the caller must not make its change again)."""
        values = {"delivery": delivery_id, "finished": at, "result": outcome[:255]}
        return bool((await self._run(_COMPLETE_DELIVERY, values)).rowcount)
