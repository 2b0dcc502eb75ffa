"""Playbook checklists: starting playbooks on an incident, ticking their items."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.i18n import Msg
from bot.incidents.core import ChangeEffects, Part
from bot.incidents.errors import (
    InvalidInput,
)
from bot.incidents.model import (
    EventKind,
    IncidentSnapshot,
)
from bot.incidents.playbooks import Playbook, find_playbook, matching
from storage.models import Incident
from storage.repository import Repository
from storage.statements import NewChecklistItem

log = logging.getLogger(__name__)


class Checklists(Part):
    """Runs playbooks' checklists on incidents."""

    async def start_playbook(self, *, incident_id: int, name: str, actor: str) -> str:
        """Starts another playbook on the incident; returns its title."""
        playbook = find_playbook(self.config.playbooks, name)
        if playbook is None:
            known = ", ".join(p.name for p in self.config.playbooks)
            if not known:
                raise InvalidInput(Msg("errors.no_playbooks", name=name))
            raise InvalidInput(Msg("errors.unknown_playbook", name=name, known=known))

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            if not await self.start_playbooks(repo, row, [playbook], actor=actor, fx=fx):
                raise InvalidInput(Msg("errors.playbook_running", name=playbook.name, id=row.id))

        await self._change(incident_id, change, actor=actor)
        return playbook.title

    async def tick_items(
        self, *, incident_id: int, playbook: str, first: int, count: int, done: set[str], actor: str
    ) -> IncidentSnapshot:
        """Sets the items shown together (positions first … first+count) done or not done, as ticked."""
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            assert row.id is not None
            items = [i for i in await repo.checklist_items(incident_id=row.id) if i.playbook == playbook]
            for item in items[first : first + count]:
                ticked = item.key in done
                if ticked == item.done:
                    continue
                item.done, item.done_by, item.done_at = (
                    ticked,
                    (actor if ticked else None),
                    (now if ticked else None),
                )
                repo.session.add(item)
                await self._event(
                    repo,
                    row,
                    at=now,
                    kind=EventKind.CHECKLIST,
                    actor=actor,
                    text=Msg("timeline.item_done" if ticked else "timeline.item_undone", title=item.title),
                    data={"playbook": playbook, "key": item.key},
                    fx=fx,
                )

        return await self._change(incident_id, change, actor=actor)

    def applicable(self, row: Incident) -> list[Playbook]:
        """The playbooks that apply to the incident (its severity, services, visibility and type)."""
        return matching(
            self.config.playbooks,
            severity=row.severity,
            services=row.services,
            private=row.private,
            types=(row.incident_type,),
        )

    async def start_playbooks(
        self,
        repo: Repository,
        row: Incident,
        playbooks: Sequence[Playbook],
        *,
        actor: str | None,
        fx: ChangeEffects | None,
        fresh: bool = False,
    ) -> int:
        """Adds the checklist items of playbooks not yet running (`fresh`: the incident was inserted in this
        transaction, so none is); returns how many playbooks started."""
        assert row.id is not None
        running = set() if fresh else await repo.running_playbooks(incident_id=row.id)
        started = 0
        for playbook in playbooks:
            if playbook.name in running:
                continue
            items = playbook.items_for(
                severity=row.severity, services=row.services, private=row.private, types=(row.incident_type,)
            )
            await repo.add_checklist_items(
                incident_id=row.id,
                items=[
                    NewChecklistItem(
                        playbook=playbook.name,
                        key=item.key,
                        position=position,
                        title=item.title,
                        details="\n".join(x for x in (item.details, item.link or "") if x),
                        owner_role=item.role,
                        required=item.required,
                        due_at=row.declared_at + item.due if item.due else None,
                    )
                    for position, item in enumerate(items)
                ],
            )
            await self._event(
                repo,
                row,
                at=self._clock.now(),
                kind=EventKind.CHECKLIST,
                actor=actor,
                text=Msg("timeline.playbook_started", title=playbook.title),
                data={"playbook": playbook.name},
                fx=fx,
            )
            started += 1
        return started
