"""Reading incidents: snapshots, the incident of a channel, lists and the rows stats read."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.incidents.core import Core, Part
from bot.incidents.model import (
    IncidentSnapshot,
)
from bot.incidents.queries import bare_snapshot, first_start, snapshot_of, stats_rows
from readmodel.stats import StatsRow

log = logging.getLogger(__name__)


ROOMS_REMEMBERED = 10_000  # channel -> incident ids kept in memory (a few hundred kB at most)


class Reading(Part):
    """Reads of the record (the people who may see them are access's to check)."""

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._rooms: dict[str, int] = {}  # channel id -> incident id, which never changes once set

    async def snapshot(self, *, incident_id: int, timeline: bool = True) -> IncidentSnapshot:
        """Everything known about an incident (`timeline=False`: all but the timeline, see snapshot_of)."""
        async with self._store.transaction() as repo:
            incident = await self._get(repo, incident_id)
            return await snapshot_of(repo, incident, timeline=timeline)

    async def incident_for_channel(self, *, channel_id: str) -> int | None:
        """The id of the incident whose room is that channel (remembered: a room never changes incident)."""
        known = self._rooms.get(channel_id)
        if known is not None:
            return known
        async with self._store.transaction() as repo:
            incident = await repo.incident_by_channel(channel_id=channel_id)
        if incident is None or incident.id is None:
            return None
        if len(self._rooms) >= ROOMS_REMEMBERED:
            self._rooms.pop(next(iter(self._rooms)))
        self._rooms[channel_id] = incident.id
        return incident.id

    async def list_incidents(self, *, open_only: bool = True) -> list[IncidentSnapshot]:
        """Incidents newest first, without their timelines (for lists and App Home)."""
        async with self._store.transaction() as repo:
            rows = await repo.incidents(open_only=open_only)
            return [bare_snapshot(row) for row in rows]

    async def stats_rows(self, *, since: datetime, until: datetime) -> list[StatsRow]:
        """Cheap per-incident rows (milestones, severity changes) for metrics over a window, as stored."""
        return await stats_rows(self._store, since=since, until=until)

    async def first_start(self) -> datetime | None:
        """When the first incident recorded started (for a window over `all` of them)."""
        return await first_start(self._store)
