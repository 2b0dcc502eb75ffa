"""The record's shape after the declaration: an incident's type, its custom fields, its services, and the
responders who join the room when a service is added."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable, Mapping, Sequence

from bot.i18n import Msg
from bot.incidents.core import ChangeEffects, Part, clean
from bot.incidents.errors import ChatError, InvalidInput
from bot.incidents.fields import SERVICES_FORM, shown_value
from bot.incidents.model import EventKind, FieldValue, IncidentSnapshot
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)


def changed_services(
    current: Sequence[str], *, replace: Sequence[str] | None, add: Sequence[str], remove: Sequence[str]
) -> list[str]:
    """The services after a change: `replace` (when given) instead of the current ones, then `add` appended
    and `remove` taken out, each named once (in any case: the first spelling stays)."""
    gone = {clean(x).strip().casefold() for x in remove}
    services: dict[str, str] = {}
    for name in (clean(x).strip() for x in (*(current if replace is None else replace), *add)):
        if name and name.casefold() not in gone:
            services.setdefault(name.casefold(), name)
    return list(services.values())


class Shaping(Part):
    """Changes an incident's type, custom fields and services, and invites the responders it brings."""

    async def set_type(self, *, incident_id: int, incident_type: str, actor: str) -> IncidentSnapshot:
        """Gives the incident another configured type, starting the playbooks that type picks."""

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            # Checked once the incident is known visible: an outsider learns only that it is not there.
            chosen = self.config.shape.incident_type(incident_type)
            if row.incident_type == chosen:
                raise InvalidInput(Msg("errors.type_unchanged", id=row.id, type=chosen))
            old, row.incident_type = row.incident_type, chosen
            await self._event(
                repo,
                row,
                at=self._clock.now(),
                kind=EventKind.TYPE,
                actor=actor,
                text=Msg("timeline.type", old=old, new=chosen),
                data={"from": old, "to": chosen},
                fx=fx,
            )
            checklists = self.parts.checklists
            await checklists.start_playbooks(repo, row, checklists.applicable(row), actor=actor, fx=fx)

        return await self._change(incident_id, change, actor=actor)

    async def set_field(self, *, incident_id: int, name: str, value: str, actor: str) -> IncidentSnapshot:
        """Sets one custom field to a value typed or chosen (checked against the field's kind and choices)."""

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            spec = self.config.shape.field(name)  # checked once the incident is known visible
            stored = spec.value_of(value)
            await self.record_fields(repo, row, {spec.name: stored}, actor=actor, fx=fx)

        return await self._change(incident_id, change, actor=actor)

    async def record_fields(
        self,
        repo: Repository,
        row: Incident,
        values: Mapping[str, FieldValue],
        *,
        actor: str,
        fx: ChangeEffects | None,
    ) -> None:
        """Stores custom field values (already checked) on the incident, a timeline event for each change."""
        shape = self.config.shape
        for name, value in values.items():
            if row.custom_fields.get(name) == value:
                continue
            row.custom_fields = {**row.custom_fields, name: value}
            await self._event(
                repo,
                row,
                at=self._clock.now(),
                kind=EventKind.FIELD,
                actor=actor,
                text=Msg("timeline.field", field=name, value=shown_value(shape.field(name), value)),
                data={"field": name, "value": value},
                fx=fx,
            )

    async def set_services(
        self,
        *,
        incident_id: int,
        actor: str,
        replace: Sequence[str] | None = None,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
    ) -> IncidentSnapshot:
        """Changes the incident's services (replace them, add some, remove some), on the timeline; the
        responders of each added service join its room."""
        added: list[str] = []

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            if replace is None and not any(s.strip() for s in (*add, *remove)):
                raise InvalidInput(Msg("errors.services_empty", form=SERVICES_FORM))
            old = list(row.services)
            new = changed_services(old, replace=replace, add=add, remove=remove)
            if new == old:
                raise InvalidInput(Msg("errors.services_unchanged", id=row.id))
            before = {s.casefold() for s in old}
            added.extend(s for s in new if s.casefold() not in before)
            row.services = new
            shown = ", ".join(new)
            await self._event(
                repo,
                row,
                at=self._clock.now(),
                kind=EventKind.SERVICES,
                actor=actor,
                text=Msg("timeline.services", services=shown) if new else Msg("timeline.services_none"),
                data={"from": old, "to": new},
                fx=fx,
            )
            checklists = self.parts.checklists
            await checklists.start_playbooks(repo, row, checklists.applicable(row), actor=actor, fx=fx)

        snap = await self._change(incident_id, change, actor=actor)
        responders = [who for name in added for who in self.config.responders_of(name)]
        if responders and snap.channel_id:
            try:
                await self.invite(channel_id=snap.channel_id, people=responders)
            except ChatError as exc:
                log.warning("inviting responders failed: %s", exc.reason, extra={"incident_id": snap.id})
        return snap

    async def invite(self, *, channel_id: str, people: Iterable[str]) -> None:
        """Invites users and the members of user groups (S…) in one call, the groups looked up together."""
        await self.invite_users(channel_id=channel_id, users=self.invitees(people))

    async def invite_users(self, *, channel_id: str, users: Awaitable[list[str]]) -> None:
        """Invites the users once they are known (in one call; nobody: no call)."""
        found = await users
        if found:
            await self._chat.invite(channel_id=channel_id, user_ids=found)

    async def invitees(self, people: Iterable[str]) -> list[str]:
        """The users among `people` and the members of its user groups (S…), looked up together; a group
        Slack cannot expand adds nobody."""
        wanted = list(dict.fromkeys(people))
        groups = [g for g in wanted if g.startswith("S")]
        members = await asyncio.gather(*(self._members(g) for g in groups))
        users = [u for u in wanted if not u.startswith("S")]
        return users + sorted(set().union(*members) - set(users))

    async def _members(self, group_id: str) -> frozenset[str]:
        """A user group's members (none when Slack cannot say: the others are invited all the same)."""
        if self._directory is None:
            log.warning("no directory to expand user group %s", group_id)
            return frozenset()
        try:
            return await self._directory.members_of(group_id=group_id)
        except ChatError as exc:
            log.warning("user group %s not expanded: %s", group_id, exc.reason)
            return frozenset()
