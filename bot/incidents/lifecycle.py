"""The lifecycle of an incident: severity, status, acknowledgement, milestones, roles, resolve, reopen,
close (follow-ups: followups.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from bot.i18n import Msg
from bot.incidents.core import LEAD_ROLE, ChangeEffects, Part
from bot.incidents.errors import (
    ChatError,
    InvalidInput,
    InvalidTransition,
    RequiredItemsOpen,
)
from bot.incidents.fields import Required, require
from bot.incidents.model import (
    OPEN_STATUSES,
    EventKind,
    IncidentSnapshot,
    Milestone,
    Status,
)
from bot.incidents.permissions import Act
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

# The milestones people set by hand, with their timeline text; the rest follow the lifecycle.
SETTABLE_MILESTONES: Mapping[Milestone, str] = {
    Milestone.IMPACT_STARTED: "timeline.impact_started",
    Milestone.IMPACT_ENDED: "timeline.impact_ended",
    Milestone.DETECTED: "timeline.detected",
    Milestone.MITIGATED: "timeline.mitigated",
}
# The ones the resolve modal asks for when they are missing.
REVIEWED_MILESTONES = (Milestone.IMPACT_STARTED, Milestone.DETECTED, Milestone.MITIGATED)


class Lifecycle(Part):
    """Changes of an incident's state, one transaction each."""

    async def set_severity(
        self, *, incident_id: int, severity: str, actor: str, reason: str = ""
    ) -> IncidentSnapshot:
        """Changes the severity."""
        code = self.parts.declaring.severity(severity)
        await self.parts.access.authorize(Act.SEVERITY, actor=actor, incident_id=incident_id)

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            self._require_open(row, "severity")
            if row.severity == code:
                raise InvalidInput(Msg("errors.already_severity", id=row.id, severity=code))
            old, row.severity = row.severity, code
            text = (
                Msg("timeline.severity_reason", old=old, new=code, reason=reason)
                if reason
                else Msg("timeline.severity", old=old, new=code)
            )
            await self._event(
                repo,
                row,
                at=self._clock.now(),
                kind=EventKind.SEVERITY,
                actor=actor,
                text=text,
                data={"from": old, "to": code},
                fx=fx,
            )
            await self.parts.checklists.start_playbooks(
                repo, row, self.parts.checklists.applicable(row), actor=actor, fx=fx
            )

        return await self._change(incident_id, change, actor=actor)

    async def set_status(
        self, *, incident_id: int, status: Status, actor: str, at: datetime | None = None, message: str = ""
    ) -> IncidentSnapshot:
        """Moves an open incident to another status (resolved goes through resolve)."""
        if status is Status.RESOLVED:
            return await self.resolve(incident_id=incident_id, actor=actor, at=at, summary=message)
        if status not in OPEN_STATUSES:
            raise InvalidInput(Msg("errors.close_reopen_commands"))
        await self.parts.access.authorize(Act.STATUS, actor=actor, incident_id=incident_id)
        when = at or self._clock.now()

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            self._require_open(row, "status")
            old, row.status = row.status, status.value
            before, after = Msg(f"status_word.{old}"), Msg(f"status_word.{status.value}")
            text = (
                Msg("timeline.status_message", old=before, new=after, message=message)
                if message
                else Msg("timeline.status", old=before, new=after)
            )
            await self._event(
                repo,
                row,
                at=when,
                kind=EventKind.STATUS,
                actor=actor,
                text=text,
                data={"from": old, "to": status.value},
                fx=fx,
            )
            if status is Status.MONITORING and row.mitigated_at is None:
                row.mitigated_at = when

        return await self._change(incident_id, change, actor=actor)

    async def acknowledge(
        self, *, incident_id: int, actor: str, at: datetime | None = None
    ) -> IncidentSnapshot:
        """Acknowledges the incident (once)."""
        when = at or self._clock.now()

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            if row.acknowledged_at is not None:
                raise InvalidInput(Msg("errors.already_acknowledged", id=row.id))
            row.acknowledged_at = when
            await self._event(
                repo,
                row,
                at=when,
                kind=EventKind.ACKNOWLEDGED,
                actor=actor,
                text=Msg("timeline.acknowledged"),
                fx=fx,
            )

        return await self._change(incident_id, change, actor=actor)

    async def mark_mitigated(
        self, *, incident_id: int, actor: str, at: datetime | None = None
    ) -> IncidentSnapshot:
        """Records when the impact was mitigated."""
        return await self.set_milestone(
            incident_id=incident_id, milestone=Milestone.MITIGATED, actor=actor, at=at or self._clock.now()
        )

    async def set_milestone(
        self, *, incident_id: int, milestone: Milestone, actor: str, at: datetime
    ) -> IncidentSnapshot:
        """Sets impact start or end, detection or mitigation (a correction overwrites the earlier value)."""
        if milestone not in SETTABLE_MILESTONES:
            raise InvalidInput(Msg("errors.milestone_by_lifecycle", milestone=milestone.value))

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            await self._record_milestone(repo, row, fx, milestone=milestone, at=at, actor=actor)

        return await self._change(incident_id, change, actor=actor)

    async def _record_milestone(
        self,
        repo: Repository,
        row: Incident,
        fx: ChangeEffects,
        *,
        milestone: Milestone,
        at: datetime,
        actor: str,
    ) -> None:
        """Sets a settable milestone and puts it on the timeline (a correction says so)."""
        old = getattr(row, milestone.value)
        setattr(row, milestone.value, at)
        kind = EventKind.MITIGATED if milestone is Milestone.MITIGATED else EventKind.MILESTONE
        text = Msg(SETTABLE_MILESTONES[milestone] + ("_corrected" if old is not None else ""))
        await self._event(
            repo, row, at=at, kind=kind, actor=actor, text=text, data={"milestone": milestone.value}, fx=fx
        )

    async def assign_role(self, *, incident_id: int, role: str, user_id: str, actor: str) -> IncidentSnapshot:
        """Gives a configured role to someone; the lead also acknowledges the incident."""
        role = role.strip().lower()
        await self.parts.access.authorize(Act.ROLES, actor=actor, incident_id=incident_id)
        if role not in self.config.roles and role != LEAD_ROLE:
            raise InvalidInput(Msg("errors.unknown_role", role=role, known=", ".join(self.config.roles)))
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            assert row.id is not None
            await repo.set_role(incident_id=row.id, role=role, user_id=user_id, at=now)
            await repo.add_participant(incident_id=row.id, user_id=user_id, at=now)
            if role == LEAD_ROLE:
                row.lead = user_id
                if row.acknowledged_at is None:
                    # Naming a lead is taking the incident on: its acknowledgement, marked on the timeline so
                    # the time to acknowledge can be read there (the lead's own line tells the channel).
                    row.acknowledged_at = now
                    await self._event(
                        repo,
                        row,
                        at=now,
                        kind=EventKind.ACKNOWLEDGED,
                        actor=actor,
                        text=Msg("timeline.acknowledged_by_lead", user=user_id),
                    )
            kind = EventKind.LEAD if role == LEAD_ROLE else EventKind.ROLE
            await self._event(
                repo,
                row,
                at=now,
                kind=kind,
                actor=actor,
                text=(
                    Msg("timeline.lead", user=user_id)
                    if role == LEAD_ROLE
                    else Msg("timeline.role", role=role, user=user_id)
                ),
                data={"role": role, "user": user_id},
                fx=fx,
            )

        snap = await self._change(incident_id, change, actor=actor)
        if snap.channel_id:
            try:
                await self._chat.invite(channel_id=snap.channel_id, user_ids=[user_id])
            except ChatError as exc:
                log.warning("invite failed: %s", exc.reason, extra={"incident_id": incident_id})
        return snap

    async def resolve(
        self,
        *,
        incident_id: int,
        actor: str,
        at: datetime | None = None,
        summary: str = "",
        override_gates: bool = False,
        milestones: Mapping[Milestone, datetime] | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> IncidentSnapshot:
        """Resolves an open incident (also marking it mitigated if nobody did); required items open stop it
        unless the resolver confirms, and then the override is on the timeline. `milestones` fills in impact
        start, detection or mitigation where none was recorded (the resolve modal's review), in the same
        change. `fields`: custom field values given with it (the resolve modal's), set first; a field required
        at resolve without one stops it."""
        await self.parts.access.authorize(Act.RESOLVE, actor=actor, incident_id=incident_id)
        when = at or self._clock.now()
        given = self.config.shape.values(fields or {})
        gated: list[RequiredItemsOpen] = []

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            self._require_open(row, "resolve")
            assert row.id is not None
            values = {**row.custom_fields, **given}
            require(self.config.shape, Required.RESOLVE, values)
            await self.parts.shaping.record_fields(repo, row, given, actor=actor, fx=fx)
            for milestone, at_ in (milestones or {}).items():
                if milestone in REVIEWED_MILESTONES and getattr(row, milestone.value) is None:
                    await self._record_milestone(repo, row, fx, milestone=milestone, at=at_, actor=actor)
            items = await repo.checklist_items(incident_id=row.id)
            open_gates = tuple(i.title for i in items if i.required and not i.done)
            if open_gates and not override_gates:
                gate = RequiredItemsOpen(
                    Msg(
                        "errors.required_open", id=row.id, count=len(open_gates), items="; ".join(open_gates)
                    ),
                    items=open_gates,
                )
                if not fx.lines:
                    raise gate
                # The fields and milestones given with it are kept (committed) while the resolution waits for
                # confirming.
                gated.append(gate)
                return
            row.status = Status.RESOLVED.value
            row.resolved_at = when
            if row.mitigated_at is None:
                row.mitigated_at = when
            key = "timeline.resolved_summary" if summary.strip() else "timeline.resolved"
            if open_gates:
                key += "_override"
            text = Msg(key, summary=summary.strip(), items="; ".join(open_gates))
            await self._event(
                repo,
                row,
                at=when,
                kind=EventKind.RESOLVED,
                actor=actor,
                text=text,
                fx=fx,
                data={"override": list(open_gates)} if open_gates else None,
            )

        snap = await self._change(incident_id, change, actor=actor)
        if gated:
            raise gated[0]
        return snap

    async def reopen(self, *, incident_id: int, actor: str) -> IncidentSnapshot:
        """Reopens a resolved incident (back to investigating; resolved_at is cleared)."""
        await self.parts.access.authorize(Act.REOPEN, actor=actor, incident_id=incident_id)
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            if row.status != Status.RESOLVED.value:
                raise InvalidTransition(
                    Msg("errors.reopen_not_resolved", id=row.id, status=Msg(f"status_word.{row.status}"))
                )
            row.status = Status.INVESTIGATING.value
            row.resolved_at = None
            await self._event(
                repo, row, at=now, kind=EventKind.REOPENED, actor=actor, text=Msg("timeline.reopened"), fx=fx
            )

        return await self._change(incident_id, change, actor=actor)

    async def close(self, *, incident_id: int, actor: str) -> IncidentSnapshot:
        """Closes a resolved incident (after its postmortem)."""
        await self.parts.access.authorize(Act.CLOSE, actor=actor, incident_id=incident_id)
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            if row.status != Status.RESOLVED.value:
                raise InvalidTransition(
                    Msg("errors.close_not_resolved", id=row.id, status=Msg(f"status_word.{row.status}"))
                )
            row.status = Status.CLOSED.value
            row.closed_at = now
            await self._event(
                repo, row, at=now, kind=EventKind.CLOSED, actor=actor, text=Msg("timeline.closed"), fx=fx
            )

        return await self._change(incident_id, change, actor=actor)
