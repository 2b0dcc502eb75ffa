"""The timeline: events, pages of them, and the lines and card revisions the channel is to be shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    RowMapping,
    func,
    select,
)
from sqlmodel import col

from storage.models import (
    Incident,
    TimelineEvent,
)
from storage.statements import (
    CLAIM_LINES,
    EVENT_COLUMNS,
    SHOW_CARD_REVISION,
    STATS_CHANGED,
    Rows,
    insert_new,
)
from storage.stats import (
    SEVERITY_EVENT_KINDS,
)


class TimelineRows(Rows):
    """The timeline: events, pages of them, and the lines and card revisions the channel is to be shown."""

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
        result = await self._run(insert_new(self._dialect, TimelineEvent, unique, "id"), values)
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
            select(*EVENT_COLUMNS)
            .where(*alive)
            .order_by(col(TimelineEvent.at).desc(), col(TimelineEvent.id).desc())
            .limit(limit)
            .offset(offset)
        )
        rows = list((await self.session.execute(stmt)).mappings())
        total = (await self.session.execute(select(func.count()).where(*alive))).scalar_one()
        return rows, int(total)

    async def events_page(
        self, *, incident_id: int, limit: int, offset: int = 0
    ) -> tuple[list[RowMapping], int]:
        """One page of the incident's timeline in the order of events(), and how many events it has."""
        live = (col(TimelineEvent.incident_id) == incident_id, col(TimelineEvent.deleted).is_(False))
        total = (
            await self.session.execute(select(func.count()).select_from(TimelineEvent).where(*live))
        ).scalar_one()
        stmt = (
            select(*EVENT_COLUMNS)
            .where(*live)
            .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.execute(stmt)).mappings()), int(total)

    async def claim_lines(self, *, incident_id: int) -> list[RowMapping]:
        """Takes the incident's changes not yet told in the channel (so no one else posts them), oldest
        first, as event rows."""
        rows = list((await self._run(CLAIM_LINES, {"incident": incident_id})).mappings())
        return sorted(rows, key=lambda row: int(row["id"]))

    async def show_card_revision(self, *, incident_id: int, revision: int) -> None:
        """Notes that the card shows `revision` now (never lowering what an overtaking update noted)."""
        await self._run(SHOW_CARD_REVISION, {"incident": incident_id, "shown": revision})

    async def incidents_with_effects_to_show(self) -> list[int]:
        """Incidents whose card or channel has not been shown a committed change (a crash after the commit,
        a Slack failure)."""
        lines = select(col(TimelineEvent.incident_id)).where(col(TimelineEvent.line_posted).is_(False))
        cards = select(col(Incident.id)).where(
            col(Incident.card_ts).is_not(None), col(Incident.card_revision) < col(Incident.revision)
        )
        stmt = lines.union(cards)
        return sorted({int(row[0]) for row in (await self.session.execute(stmt)).all()})
