"""An incident's own row: declaring, reading, filtering, its stats, its room's set-up, the delivery it
completes."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from readmodel import OPEN_STATUSES
from readmodel.stats import StatsRow, collector_paused
from storage.models import (
    Incident,
    IncidentStats,
)
from storage.statements import (
    CHECKLIST_ITEMS,
    COMPLETE_DELIVERY,
    COUNT_CHANGE,
    FINISH_SETUP,
    FOLLOWUPS,
    INCIDENT_BY_ID,
    INCIDENT_FOR_UPDATE,
    MAX_ROW_ID,
    PAGES,
    PARTICIPANTS,
    ROLES,
    SET_CHANNEL,
    STATS_CHANGED,
    IncidentFilter,
    IncidentParts,
    Rows,
    in_incident_clause,
    insert_new,
)
from storage.stats import (
    as_stats_rows,
    micros_datetime,
    refresh_incident_stats,
    stats_rows_query,
)


class IncidentRows(Rows):
    """An incident's own row: declaring, reading, filtering, its stats, its room's set-up, the delivery
    it completes."""

    # Incidents

    async def add_incident(self, *, incident: Incident) -> tuple[Incident, bool]:
        """Inserts an incident; with a request_key already stored, returns that one and False."""
        if incident.request_key is None:
            self.session.add(incident)
            await self.session.flush()
            return incident, True
        values = incident.model_dump(exclude={"id"})
        stmt = insert_new(self._dialect, Incident, ("request_key",), "id")
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
        stmt = INCIDENT_FOR_UPDATE if for_update else INCIDENT_BY_ID
        return (await self.session.execute(stmt, {"incident": incident_id})).scalar_one_or_none()

    async def count_change(self, row: Incident) -> None:
        """Adds one to the incident's revision in the database (atomic, whoever else changes it meanwhile);
        `row` learns the new value."""
        revision = (await self._run(COUNT_CHANGE, {"incident": row.id})).scalar_one()
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
        stmt = select(Incident).where(or_(col(Incident.private).is_(False), in_incident_clause(user_id)))
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
        stmt = select(col(Incident.id)).where(col(Incident.private).is_(True), in_incident_clause(user_id))
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
        await self._run(SET_CHANNEL, {"incident": incident_id, "channel": channel_id, "name": name})

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
        row = (await self._run(FINISH_SETUP, values)).one_or_none()
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

    async def parts(self, *, incident_id: int, kinds: Collection[str] | None = None) -> IncidentParts:
        """What a snapshot reads of an incident besides its row: its timeline (or only its events of those
        kinds), roles, participants, checklist items, follow-ups and pages, as plain rows."""
        given = {"incident": incident_id}
        return IncidentParts(
            events=await self.events(incident_id=incident_id, kinds=kinds),
            roles=list(await self._run(ROLES, given)),
            participants=list(await self._run(PARTICIPANTS, given)),
            checklist_items=list(await self._run(CHECKLIST_ITEMS, given)),
            followups=list(await self._run(FOLLOWUPS, given)),
            pages=list(await self._run(PAGES, given)),
        )

    # The durable inbox (storage.inbox records and claims; the change a delivery asked for completes it)

    async def complete_delivery(self, *, delivery_id: str, at: datetime, outcome: str = "done") -> bool:
        """Marks a delivery done in this transaction; False when it already was (another replica, or an
        earlier life of this one, finished it: the caller must not make its change again)."""
        values = {"delivery": delivery_id, "finished": at, "result": outcome[:255]}
        return bool((await self._run(COMPLETE_DELIVERY, values)).rowcount)
