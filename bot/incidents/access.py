"""Who may see and do what: a private incident is seen only by the people in it; the team's rules say
who may act."""

from __future__ import annotations

import logging

from bot.i18n import Msg
from bot.incidents.core import Part
from bot.incidents.errors import (
    IncidentNotFound,
    PermissionDenied,
)
from bot.incidents.model import (
    IncidentSnapshot,
    TimelineEntry,
)
from bot.incidents.permissions import ANYONE, Act
from bot.incidents.queries import bare_snapshot, entry_of
from storage.statements import IncidentFilter

log = logging.getLogger(__name__)


class Access(Part):
    """Visibility and permission, checked for every incident id the service is given."""

    async def authorize(self, act: Act, *, actor: str, incident_id: int | None = None) -> None:
        """Raises PermissionDenied, saying who may, unless the team's rules let the actor do `act`."""
        policy = self.config.policy
        if policy.who(act) == (ANYONE,):
            return
        incident = (
            await self.visible_snapshot(incident_id=incident_id, user_id=actor, timeline=False)
            if incident_id is not None
            else None
        )
        wanted = policy.groups()
        groups = (
            await self._directory.groups_of(user_id=actor, among=wanted)
            if wanted and self._directory
            else frozenset()
        )
        if not policy.allows(act, user_id=actor, incident=incident, groups=groups):
            act_words = Msg(f"acts.{act.value}")
            who = policy.describe(act)
            if incident_id is None:
                raise PermissionDenied(Msg("errors.not_allowed", act=act_words, who=who))
            raise PermissionDenied(Msg("errors.not_allowed_on", act=act_words, id=incident_id, who=who))

    # Reading

    async def private_incidents_of(self, *, user_id: str) -> set[int]:
        """The ids of the private incidents the user may see (the ones they are in)."""
        async with self._store.transaction() as repo:
            return await repo.private_incidents_of(user_id=user_id)

    async def visible_incidents(
        self,
        *,
        user_id: str,
        open_only: bool = True,
        limit: int | None = None,
        offset: int = 0,
        wanted: IncidentFilter | None = None,
    ) -> tuple[list[IncidentSnapshot], int]:
        """A page of the incidents a user may see, newest first (private ones only for the people in them;
        `wanted`: only those it picks, open ones first), and how many there are in all."""
        async with self._store.transaction() as repo:
            rows, total = await repo.incidents_visible_to(
                user_id=user_id, open_only=open_only, limit=limit, offset=offset, wanted=wanted
            )
            return [bare_snapshot(row) for row in rows], total

    async def check_visible(self, *, incident_id: int, user_id: str) -> None:
        """Raises IncidentNotFound unless the user may see the incident (reads only who is in it)."""
        async with self._store.transaction() as repo:
            await self._visible(repo, await self._get(repo, incident_id), user_id)

    async def visible_timeline(
        self, *, incident_id: int, user_id: str, limit: int, offset: int = 0
    ) -> tuple[list[TimelineEntry], int]:
        """A page of an incident's timeline, oldest first, and how many events it has, if the user may see
        it (IncidentNotFound otherwise, as for every read of a private incident)."""
        async with self._store.transaction() as repo:
            await self._visible(repo, await self._get(repo, incident_id), user_id)
            rows, total = await repo.events_page(incident_id=incident_id, limit=limit, offset=offset)
            return [entry_of(row) for row in rows], total

    async def visible_snapshot(
        self, *, incident_id: int, user_id: str, timeline: bool = True
    ) -> IncidentSnapshot:
        """Everything about an incident if the user may see it; private ones are 'not found' to outsiders."""
        snap = await self.parts.reading.snapshot(incident_id=incident_id, timeline=timeline)
        if not may_see(snap, user_id):
            raise IncidentNotFound(Msg("errors.not_visible", id=incident_id))
        return snap

    # Declaring


def may_see(incident: IncidentSnapshot, user_id: str) -> bool:
    """Whether a user may see an incident: anyone for a public one; the people in a private one."""
    if not incident.private:
        return True
    return user_id in incident.people
