"""Reminders in Slack's scheduler: a few per incident, kept in line with the record, reconciled after a
crash."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bot.incidents.core import SECOND, Part, same_time
from bot.incidents.errors import (
    ChatError,
)
from bot.incidents.model import (
    IncidentSnapshot,
)
from bot.incidents.playbooks import status_update_minutes
from bot.incidents.queries import snapshot_of
from bot.incidents.reminders import Reminder, desired_reminders
from storage.repository import Repository

log = logging.getLogger(__name__)


UNKNOWN = "?"  # a reminder Slack gave no answer for: it may or may not hold it


@dataclass
class ReminderPlan:
    """What one decision about an incident's reminders claimed and dropped, for Slack to carry out."""

    incident: IncidentSnapshot  # the state the reminders were decided from
    claims: list[tuple[int, Reminder]] = field(default_factory=list)  # claimed rows to schedule
    cancel: list[tuple[str, str]] = field(default_factory=list)  # (channel, scheduled message id)
    unknown: bool = False  # a dropped reminder whose Slack id was never recorded: reconcile with Slack


class Scheduler(Part):
    """Keeps Slack's scheduler in line with the reminders each incident should have."""

    async def sync_reminders(self, *, incident_id: int, current: IncidentSnapshot | None = None) -> None:
        """Brings Slack's scheduler in line with the reminders the incident should have (idempotent): one
        transaction decides what goes and what comes, the Slack calls run together, one more transaction
        records what Slack answered; nothing moved, no Slack call. `current` is a snapshot just read."""
        snap = (
            current
            if current is not None
            else await self.parts.reading.snapshot(incident_id=incident_id, timeline=False)
        )
        async with self._store.transaction() as repo:
            # Syncs of one incident take turns on its row, and each decides from the state stored now: one
            # from a change that another has overtaken would schedule what that one just took back.
            stored = await repo.incident(incident_id=incident_id, for_update=True)
            if stored is None:
                return
            if stored.revision != snap.revision:
                snap = await snapshot_of(repo, stored, timeline=False)
            plan = await self.plan(repo, snap)
        await self.carry_out(plan)

    async def plan(self, repo: Repository, snap: IncidentSnapshot) -> ReminderPlan:
        """Decides, in the caller's transaction, which reminders go and which come for the incident as `snap`
        shows it (the state stored now, its row locked or written in that transaction): drops the stale ones
        and claims the new ones. `carry_out` then does it in Slack, once the transaction has committed."""
        incident_id = snap.id
        now = self._clock.now()
        wanted = desired_reminders(snap, cadence=self.cadence(snap), now=now)
        rows = await repo.reminders(incident_id=incident_id)
        keep = {
            r.reason
            for r in rows
            if r.reason in wanted and abs(r.post_at - wanted[r.reason].post_at) < SECOND
        }
        stale = [r for r in rows if r.reason not in keep and r.id is not None]
        plan = ReminderPlan(incident=snap)
        if not stale and keep == set(wanted):
            return plan
        for row in stale:
            assert row.id is not None
            dropped = await repo.drop_reminder(reminder_id=row.id)
            # One whose time has passed was posted by Slack already: nothing to take back.
            if dropped and dropped[1] and row.post_at > now:
                plan.cancel.append((dropped[0], dropped[1]))
            elif dropped and row.post_at > now:
                plan.unknown = True  # a dropped reminder whose Slack id was never recorded (a crash)
        if snap.channel_id:
            new = [(reason, reminder.post_at) for reason, reminder in wanted.items() if reason not in keep]
            channel = snap.channel_id
            claims = await repo.claim_reminders(incident_id=incident_id, channel_id=channel, slots=new)
            # One missing from the claims is another replica's, which schedules it.
            plan.claims += [(claims[reason], wanted[reason]) for reason, _ in new if reason in claims]
        return plan

    async def carry_out(self, plan: ReminderPlan) -> None:
        """Does in Slack what a committed plan decided (the calls together), then records what Slack answered
        in one small transaction."""
        answers = await self.call(plan)
        if not plan.claims:
            return
        async with self._store.transaction() as repo:
            unwanted = await self.record(repo, plan, answers)
        await self.cancel_unwanted(plan, unwanted)

    async def call(self, plan: ReminderPlan) -> list[str | None]:
        """The Slack half of `carry_out`: schedules the claimed reminders and cancels the dropped ones, all
        together; returns each claim's scheduled message id (None: refused, UNKNOWN: no answer)."""
        current = plan.incident
        incident_id = current.id

        async def scheduled(reminder: Reminder) -> str | None:
            try:
                return await self._chat.schedule_reminder(incident=current, reminder=reminder)
            except ChatError as exc:
                log.warning(
                    "scheduling %s failed: %s",
                    reminder.reason,
                    exc.reason,
                    extra={"incident_id": incident_id},
                )
                # No answer: Slack may hold it after all. The claim stays without an id, and the repair
                # pass adopts what Slack holds at its time, or frees the claim for another try.
                return UNKNOWN if exc.unknown else None

        outcomes = await asyncio.gather(
            *(scheduled(reminder) for _, reminder in plan.claims),
            *(self._cancel(incident_id, c, m) for c, m in plan.cancel),
        )
        if plan.unknown:
            await self.reconcile_reminders(incident_id=incident_id)
        return list(outcomes[: len(plan.claims)])

    @staticmethod
    async def record(repo: Repository, plan: ReminderPlan, answers: list[str | None]) -> list[str]:
        """In the caller's transaction, records what Slack answered for the plan's claims; returns the ids of
        messages scheduled for claims dropped meanwhile (`cancel_unwanted` takes them back)."""
        messages: dict[int, str] = {}
        for (claim, _), message_id in zip(plan.claims, answers, strict=True):
            if message_id is None:
                await repo.drop_reminder(reminder_id=claim)
            elif message_id is not UNKNOWN:
                messages[claim] = message_id
        return await repo.set_reminder_messages(messages)

    async def cancel_unwanted(self, plan: ReminderPlan, unwanted: list[str]) -> None:
        """Dropped while Slack was scheduling it (a change that came after, at this replica or another): the
        one who dropped it could not take it back without its id, so this one does."""
        channel_id = plan.incident.channel_id or ""
        await asyncio.gather(*(self._cancel(plan.incident.id, channel_id, m) for m in unwanted))

    async def _cancel(self, incident_id: int, channel_id: str, message_id: str) -> None:
        try:
            await self._chat.cancel_reminder(channel_id=channel_id, scheduled_message_id=message_id)
        except ChatError as exc:
            log.warning("cancelling reminder failed: %s", exc.reason, extra={"incident_id": incident_id})

    async def reconcile_reminders(self, *, incident_id: int) -> int:
        """Makes what waits in Slack's scheduler for the incident's channel agree with the record, after a
        crash between Slack's scheduling and its recording: a message at the time of a reminder whose id was
        never recorded is adopted; any other that Hashi does not know is cancelled. Returns how many it
        cancelled."""
        async with self._store.transaction() as repo:
            row = await self._get(repo, incident_id)
            rows = await repo.reminders(incident_id=incident_id)
        if not row.channel_id:
            return 0
        try:
            waiting = await self._chat.scheduled_reminders(channel_id=row.channel_id)
        except ChatError as exc:
            log.warning("listing reminders failed: %s", exc.reason, extra={"incident_id": incident_id})
            return 0
        known = {r.scheduled_message_id for r in rows if r.scheduled_message_id}
        unrecorded = [r for r in rows if not r.scheduled_message_id and r.id is not None]
        orphans: list[str] = []
        adopted: list[tuple[int, str]] = []
        for message_id, post_at in waiting:
            if message_id in known:
                continue
            match = next((r for r in unrecorded if same_time(r.post_at, post_at)), None)
            if match is None or match.id is None:
                orphans.append(message_id)
                continue
            unrecorded.remove(match)
            adopted.append((match.id, message_id))
        if adopted or unrecorded:  # one transaction records what Slack holds and frees the claims it lacks
            async with self._store.transaction() as repo:
                orphans += await repo.set_reminder_messages(dict(adopted))  # dropped meanwhile
                for claim in unrecorded:
                    assert claim.id is not None
                    await repo.drop_reminder(reminder_id=claim.id)
        for message_id in orphans:
            await self._cancel(incident_id, row.channel_id, message_id)
        if unrecorded:  # the freed claims' reminders are scheduled again
            await self.sync_reminders(incident_id=incident_id)
        return len(orphans)

    async def refresh_due_reminders(self) -> int:
        """Schedules what comes next for open incidents one of whose reminders Slack has posted (the next
        checklist items due; a status update already due); returns how many incidents it looked at."""
        now = self._clock.now()
        async with self._store.transaction() as repo:
            ids = await repo.incidents_with_reminders_before(at=now)
            unrecorded = await repo.incidents_with_unrecorded_reminders()
        for incident_id in unrecorded:
            await self.reconcile_reminders(incident_id=incident_id)
        for incident_id in ids:
            await self.sync_reminders(incident_id=incident_id)
        return len(ids)

    def cadence(self, incident: IncidentSnapshot) -> dict[str, int]:
        """Minutes between status updates per severity: the team's, or tighter if a running playbook asks."""
        running = {i.playbook for i in incident.checklists}
        playbooks = [p for p in self.config.playbooks if p.name in running]
        minutes = dict(self.config.status_update_minutes)
        for code in {*minutes, *(c for p in playbooks for c in p.status_updates)}:
            asked = status_update_minutes(playbooks, code)
            if asked is not None:
                minutes[code] = min(asked, minutes.get(code, asked))
        return minutes
