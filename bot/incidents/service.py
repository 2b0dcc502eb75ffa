"""IncidentService: every change to an incident, one transaction each, then its Slack effects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.i18n import Msg, Text
from bot.incidents.deliveries import AlreadyDone, current_delivery
from bot.incidents.effects import Effects
from bot.incidents.errors import (
    ChatError,
    IncidentNotFound,
    InvalidInput,
    InvalidTransition,
    PermissionDenied,
    RequiredItemsOpen,
)
from bot.incidents.escaping import channel_slug
from bot.incidents.model import (
    DEFAULT_SEVERITIES,
    OPEN_STATUSES,
    EventKind,
    IncidentSnapshot,
    Milestone,
    Status,
)
from bot.incidents.permissions import ANYONE, Act, Policy
from bot.incidents.playbooks import Playbook, find_playbook, matching, status_update_minutes
from bot.incidents.ports import Chat, Clock, Directory
from bot.incidents.queries import bare_snapshot, incident_facts, snapshot_of
from bot.incidents.reminders import Reminder, desired_reminders
from storage.models import ChecklistItem, Followup, Incident
from storage.repository import Repository, Store

if TYPE_CHECKING:
    from bot.reports.metrics import IncidentFacts

log = logging.getLogger(__name__)

LEAD_ROLE = "lead"
ROOMS_REMEMBERED = 10_000  # channel -> incident ids kept in memory (a few hundred kB at most)
MAX_CHANNEL_NAME = 80
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class IncidentConfig:
    """What a team configures about incidents (severities, roles, channel naming, announcements)."""

    severities: tuple[str, ...] = DEFAULT_SEVERITIES
    default_severity: str = "SEV3"
    roles: tuple[str, ...] = ("lead", "comms", "scribe", "ops")
    channel_prefix: str = "inc"
    announce_channel: str | None = None
    # Minutes between status updates, per severity (reminders go out when one is due).
    status_update_minutes: Mapping[str, int] = field(default_factory=dict)
    playbooks: tuple[Playbook, ...] = ()
    policy: Policy = field(default_factory=Policy)
    # How long one attempt at the Slack set-up may hold its lease before another (a restart, a replica) may
    # take over: long enough for a slow Slack, short enough that a crashed attempt is finished soon.
    setup_lease: timedelta = timedelta(minutes=2)
    # This replica's name in set-up leases (HASHI_REPLICA_ID), so that it resumes its own after a restart.
    replica: str | None = None


@dataclass(frozen=True)
class RoomSetup:
    """What setting up an incident's Slack room did, and what it could not do."""

    incident: IncidentSnapshot
    created: bool
    missing: tuple[str, ...] = ()


@dataclass
class _Effects:
    """What a change leaves for Slack to show: how many lines it noted (effects.py reads them back)."""

    lines: int = 0


@dataclass(frozen=True)
class _RoomState:
    """What of an incident's Slack room is done, as its row records it."""

    channel_id: str | None
    topic_set: bool
    card_ts: str | None
    card_pinned: bool
    announce_ts: str | None
    checklist_ts: str | None

    @classmethod
    def of(cls, row: Incident) -> _RoomState:
        """The room state a stored incident records."""
        return cls(
            channel_id=row.channel_id,
            topic_set=row.topic_set,
            card_ts=row.card_ts,
            card_pinned=row.card_pinned,
            announce_ts=row.announce_ts,
            checklist_ts=row.checklist_ts,
        )


class IncidentService:
    """Declares and runs incidents: validates, records on the timeline, commits, then asks Chat."""

    def __init__(
        self,
        *,
        store: Store,
        chat: Chat,
        clock: Clock,
        config: IncidentConfig,
        directory: Directory | None = None,
    ) -> None:
        self._store = store
        self._chat = chat
        self._clock = clock
        self._directory = directory
        self.config = config
        self._rooms: dict[str, int] = {}  # channel id -> incident id, which never changes once set
        self.effects = Effects(
            store=store,
            chat=chat,
            sync_reminders=lambda incident_id, snap: self.sync_reminders(
                incident_id=incident_id, current=snap
            ),
        )

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

    async def incident_facts(self, *, since: datetime, until: datetime) -> Sequence[IncidentFacts]:
        """Cheap per-incident rows (milestones, severity changes) for metrics over a window."""
        return await incident_facts(self._store, since=since, until=until)

    async def private_incidents_of(self, *, user_id: str) -> set[int]:
        """The ids of the private incidents the user may see (the ones they are in)."""
        async with self._store.transaction() as repo:
            return await repo.private_incidents_of(user_id=user_id)

    async def visible_incidents(
        self, *, user_id: str, open_only: bool = True, limit: int | None = None, offset: int = 0
    ) -> tuple[list[IncidentSnapshot], int]:
        """A page of the incidents a user may see, newest first (private ones only for the people in them),
        and how many there are in all."""
        async with self._store.transaction() as repo:
            rows, total = await repo.incidents_visible_to(
                user_id=user_id, open_only=open_only, limit=limit, offset=offset
            )
            return [bare_snapshot(row) for row in rows], total

    async def check_visible(self, *, incident_id: int, user_id: str) -> None:
        """Raises IncidentNotFound unless the user may see the incident (reads only who is in it)."""
        async with self._store.transaction() as repo:
            await self._visible(repo, await self._get(repo, incident_id), user_id)

    async def visible_snapshot(
        self, *, incident_id: int, user_id: str, timeline: bool = True
    ) -> IncidentSnapshot:
        """Everything about an incident if the user may see it; private ones are 'not found' to outsiders."""
        snap = await self.snapshot(incident_id=incident_id, timeline=timeline)
        if not may_see(snap, user_id):
            raise IncidentNotFound(Msg("errors.not_visible", id=incident_id))
        return snap

    # Declaring

    def severity(self, text: str | None) -> str:
        """The configured severity code for a user's spelling of it (None: the default)."""
        if text is None:
            return self.config.default_severity
        for code in self.config.severities:
            if code.lower() == text.strip().lower():
                return code
        raise InvalidInput(Msg("errors.unknown_severity", text=text, known=", ".join(self.config.severities)))

    async def declare(
        self,
        *,
        title: str,
        actor: str,
        severity: str | None = None,
        summary: str = "",
        services: Sequence[str] = (),
        private: bool = False,
        detected_at: datetime | None = None,
        impact_started_at: datetime | None = None,
        lead: str | None = None,
        request_key: str | None = None,
        team_id: str | None = None,
    ) -> RoomSetup:
        """Records a new incident, then opens its Slack room; a repeated request_key returns the first one."""
        await self.authorize(Act.DECLARE, actor=actor)
        title = clean(title).strip()
        if not title:
            raise InvalidInput(Msg("errors.title_missing"))
        code = self.severity(severity)
        now = self._clock.now()
        async with self._write() as repo:
            row = Incident(
                title=title,
                summary=clean(summary).strip(),
                severity=code,
                status=Status.INVESTIGATING.value,
                private=private,
                services=list(dict.fromkeys(clean(s).strip() for s in services if clean(s).strip())),
                lead=lead,
                declared_by=actor,
                team_id=team_id,
                request_key=request_key,
                declared_at=now,
                detected_at=detected_at,
                impact_started_at=impact_started_at,
                acknowledged_at=now if lead else None,
                updated_at=now,
                setup_error="room not created yet",
                setup_claimed_at=now,  # this declaration sets the room up: the lease is taken at birth
                setup_claimed_by=self.config.replica,
            )
            incident, created = await repo.add_incident(incident=row)
            if created:
                assert incident.id is not None
                await self._event(
                    repo,
                    incident,
                    at=now,
                    kind=EventKind.DECLARED,
                    actor=actor,
                    text=Msg("timeline.declared", severity=code, title=title),
                    data={"severity": code},
                )
                if detected_at is not None:
                    await self._event(
                        repo,
                        incident,
                        at=detected_at,
                        kind=EventKind.MILESTONE,
                        actor=actor,
                        text=Msg("timeline.detected"),
                        data={"milestone": Milestone.DETECTED.value},
                    )
                if lead:
                    await repo.set_role(incident_id=incident.id, role=LEAD_ROLE, user_id=lead, at=now)
                    await self._event(
                        repo,
                        incident,
                        at=now,
                        kind=EventKind.LEAD,
                        actor=actor,
                        text=Msg("timeline.lead", user=lead),
                        data={"user": lead},
                    )
                await repo.add_participant(incident_id=incident.id, user_id=actor, at=now)
                await self._start_playbooks(repo, incident, self._applicable(incident), actor=actor, fx=None)
            snap = await snapshot_of(repo, incident, timeline=False)
            room = _RoomState.of(incident)
        assert incident.id is not None
        if not created:
            # A repeated request (Slack's retry, or the same click twice): the first one sets the room up.
            return RoomSetup(incident=snap, created=False)
        setup = await self._holding_setup(incident.id, self._set_up_room(snap, room, look_first=False))
        await self.sync_reminders(incident_id=incident.id, current=setup.incident)
        return RoomSetup(incident=setup.incident, created=True, missing=setup.missing)

    async def ensure_room(self, *, incident_id: int, mine_since: datetime | None = None) -> RoomSetup:
        """Does the Slack set-up an incident lacks (channel, invites, topic, card, pin, announcement,
        checklist), then its reminders. A set-up under way elsewhere is left to finish unless its lease ran
        out, or it is this replica's own from before `mine_since` (a crash, a kill: it resumes at once)."""
        now = self._clock.now()
        async with self._write() as repo:
            row = await self._get(repo, incident_id)
            claimed = await repo.claim_setup(
                incident_id=incident_id,
                at=now,
                stale_before=now - self.config.setup_lease,
                owner=self.config.replica,
                mine_before=mine_since,
            )
            snap = await snapshot_of(repo, row, timeline=False)
            room = _RoomState.of(row)
        if not claimed:
            return RoomSetup(incident=snap, created=False, missing=(SETUP_IN_PROGRESS,))
        # A later attempt may follow one that posted but never recorded it (a timeout that took effect, a
        # crash between the post and the commit), so it looks for its own messages before posting.
        setup = await self._holding_setup(incident_id, self._set_up_room(snap, room, look_first=True))
        if setup.incident.channel_id:
            await self.sync_reminders(incident_id=incident_id, current=setup.incident)
        return setup

    async def _holding_setup(self, incident_id: int, setup: Awaitable[RoomSetup]) -> RoomSetup:
        """Runs a set-up whose lease this process holds: its last transaction gives the lease back, and so
        does a failure on the way (a bug, a cancelled task at a stop)."""
        try:
            return await setup
        except BaseException:
            async with self._store.transaction() as repo:
                await repo.release_setup(incident_id=incident_id)
            raise

    async def _set_up_room(self, snap: IncidentSnapshot, room: _RoomState, *, look_first: bool) -> RoomSetup:
        incident_id = snap.id
        missing: list[str] = []
        channel_id = room.channel_id
        if channel_id is None:
            name = self.channel_name(incident_id=incident_id, title=snap.title)
            try:
                created = await self._chat.create_room(incident=snap, name=name)
            except ChatError as exc:
                await self._record_setup(incident_id, error=f"channel: {exc.reason}")
                return RoomSetup(incident=snap, created=False, missing=("channel",))
            channel_id = created.channel_id
            # Recorded at once: a crash before the rest is recorded must not open a second channel.
            async with self._store.transaction() as repo:
                await repo.set_channel(
                    incident_id=incident_id, channel_id=created.channel_id, name=created.name
                )
            snap = replace(snap, channel_id=created.channel_id, channel_name=created.name)
        people = [u for u in dict.fromkeys([snap.declared_by, snap.lead]) if u]

        async def step(name: str, work: Awaitable[Any]) -> Any:
            try:
                return await work
            except ChatError as exc:
                log.warning("%s failed: %s", name, exc.reason, extra={"incident_id": incident_id})
                missing.append(name)
                return None

        posted = snap  # what the card and checklist will show
        # Independent calls run concurrently: invite, topic and card only need the channel.
        steps: list[Awaitable[Any]] = [
            step("invite", self._chat.invite(channel_id=channel_id, user_ids=people))
        ]
        steps.append(step("topic", self._chat.set_topic(incident=snap)) if not room.topic_set else _none())
        steps.append(
            step("card", self._chat.post_card(incident=snap, look_first=look_first))
            if room.card_ts is None
            else _none()
        )
        announce = self.config.announce_channel and not snap.private and room.announce_ts is None
        steps.append(
            step("announcement", self._chat.announce(incident=snap, look_first=look_first))
            if announce
            else _none()
        )
        post_checklist = snap.checklists and room.checklist_ts is None
        steps.append(
            step("checklist", self._chat.post_checklist(incident=snap, look_first=look_first))
            if post_checklist
            else _none()
        )
        _, _, card_ts, announce_ts, checklist_ts = await asyncio.gather(*steps)
        card_ts = card_ts or room.card_ts
        pinned = room.card_pinned
        if card_ts and not pinned:
            await step("pin", self._chat.pin(channel_id=channel_id, ts=card_ts))
            pinned = "pin" not in missing
        async with self._store.transaction() as repo:
            row = await self._get(repo, incident_id)
            if card_ts and row.card_ts is None:
                row.card_revision = posted.revision  # what the card just posted shows
            row.card_ts = card_ts
            row.card_pinned = pinned
            row.topic_set = row.topic_set or "topic" not in missing
            row.announce_ts = announce_ts or row.announce_ts
            row.checklist_ts = checklist_ts or row.checklist_ts
            row.setup_error = ", ".join(missing)
            row.setup_claimed_at = None  # the lease goes back with what the set-up did
            row.updated_at = self._clock.now()
            if row.revision == posted.revision:
                snap = replace(snap, card_ts=row.card_ts, checklist_ts=row.checklist_ts)
            else:
                snap = await snapshot_of(repo, row, timeline=False)
        if snap.revision != posted.revision:
            # A change committed while the room was being set up, when there was no card for it to update yet.
            await self.effects.show(incident_id)
        return RoomSetup(incident=snap, created=True, missing=tuple(missing))

    async def repair_rooms(self, *, mine_since: datetime | None = None) -> list[RoomSetup]:
        """Finishes the Slack set-up of every incident lacking part of it (after a crash or a Slack fault);
        `mine_since`: this replica's start, before which its own interrupted set-ups are resumed at once."""
        async with self._store.transaction() as repo:
            ids = [row.id for row in await repo.incidents_needing_setup() if row.id is not None]
        return [await self.ensure_room(incident_id=i, mine_since=mine_since) for i in ids]

    def channel_name(self, *, incident_id: int, title: str) -> str:
        """`<prefix>-<id>-<slug>` within Slack's 80 characters."""
        head = f"{self.config.channel_prefix}-{incident_id}"
        slug = channel_slug(title, max_len=MAX_CHANNEL_NAME - len(head) - 1)
        return f"{head}-{slug}" if slug else head

    # Changing

    async def set_severity(
        self, *, incident_id: int, severity: str, actor: str, reason: str = ""
    ) -> IncidentSnapshot:
        """Changes the severity."""
        code = self.severity(severity)
        await self.authorize(Act.SEVERITY, actor=actor, incident_id=incident_id)

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
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
            await self._start_playbooks(repo, row, self._applicable(row), actor=actor, fx=fx)

        return await self._change(incident_id, change, actor=actor)

    async def set_status(
        self, *, incident_id: int, status: Status, actor: str, at: datetime | None = None, message: str = ""
    ) -> IncidentSnapshot:
        """Moves an open incident to another status (resolved goes through resolve)."""
        if status is Status.RESOLVED:
            return await self.resolve(incident_id=incident_id, actor=actor, at=at, summary=message)
        if status not in OPEN_STATUSES:
            raise InvalidInput(Msg("errors.close_reopen_commands"))
        await self.authorize(Act.STATUS, actor=actor, incident_id=incident_id)
        when = at or self._clock.now()

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
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

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
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
        settable = {
            Milestone.IMPACT_STARTED: "timeline.impact_started",
            Milestone.IMPACT_ENDED: "timeline.impact_ended",
            Milestone.DETECTED: "timeline.detected",
            Milestone.MITIGATED: "timeline.mitigated",
        }
        if milestone not in settable:
            raise InvalidInput(Msg("errors.milestone_by_lifecycle", milestone=milestone.value))

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
            old = getattr(row, milestone.value)
            setattr(row, milestone.value, at)
            kind = EventKind.MITIGATED if milestone is Milestone.MITIGATED else EventKind.MILESTONE
            text = Msg(settable[milestone] + ("_corrected" if old is not None else ""))
            await self._event(
                repo,
                row,
                at=at,
                kind=kind,
                actor=actor,
                text=text,
                data={"milestone": milestone.value},
                fx=fx,
            )

        return await self._change(incident_id, change, actor=actor)

    async def assign_role(self, *, incident_id: int, role: str, user_id: str, actor: str) -> IncidentSnapshot:
        """Gives a configured role to someone; the lead also acknowledges the incident."""
        role = role.strip().lower()
        await self.authorize(Act.ROLES, actor=actor, incident_id=incident_id)
        if role not in self.config.roles and role != LEAD_ROLE:
            raise InvalidInput(Msg("errors.unknown_role", role=role, known=", ".join(self.config.roles)))
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
            assert row.id is not None
            await repo.set_role(incident_id=row.id, role=role, user_id=user_id, at=now)
            await repo.add_participant(incident_id=row.id, user_id=user_id, at=now)
            if role == LEAD_ROLE:
                row.lead = user_id
                if row.acknowledged_at is None:
                    row.acknowledged_at = now
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

    async def add_note(
        self,
        *,
        incident_id: int,
        text: str,
        actor: str | None,
        at: datetime | None = None,
        kind: EventKind = EventKind.NOTE,
        source_ref: str | None = None,
        permalink: str | None = None,
        announce: bool = True,
    ) -> bool:
        """Adds a note (or a Slack message) to the timeline; False when that message is already on it."""
        if not text.strip():
            raise InvalidInput(Msg("errors.note_missing"))
        when = at or self._clock.now()
        fx = _Effects()
        async with self._write() as repo:
            row = await self._get(repo, incident_id)
            await self._visible(repo, row, actor)
            added = await self._event(
                repo,
                row,
                at=when,
                kind=kind,
                actor=actor,
                text=text,
                source_ref=source_ref,
                permalink=permalink,
                fx=fx if announce else None,
            )
            if added and actor:
                assert row.id is not None
                await repo.add_participant(incident_id=row.id, user_id=actor, at=self._clock.now())
            channel_id = row.channel_id
        # A note is no change of state: only its line is to show, and the showing reads what it needs.
        if fx.lines and channel_id:
            await self.effects.show(incident_id)
        return added

    async def update_slack_message(
        self, *, incident_id: int, source_ref: str, text: str | None, deleted: bool | None = None
    ) -> bool:
        """Keeps a Slack-sourced event in step: new text (an edit), deleted (unpinned, unmarked, deleted) or
        restored (marked again); None leaves that part alone. False when no such event is stored."""
        async with self._write() as repo:
            event = await repo.event_by_source(incident_id=incident_id, source_ref=source_ref)
            if event is None:
                return False
            if deleted is not None:
                event.deleted = deleted
            if text is not None:
                event.text = clean(text)
            repo.session.add(event)
        return True

    async def add_followup(
        self, *, incident_id: int, text: str, actor: str, owner: str | None = None
    ) -> IncidentSnapshot:
        """Records a follow-up action item."""
        if not text.strip():
            raise InvalidInput(Msg("errors.followup_missing"))
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
            assert row.id is not None
            await repo.add_followup(
                followup=Followup(
                    incident_id=row.id,
                    text=clean(text).strip(),
                    owner=owner,
                    created_by=actor,
                    created_at=now,
                )
            )
            await self._event(
                repo,
                row,
                at=now,
                kind=EventKind.FOLLOWUP,
                actor=actor,
                text=(
                    Msg("timeline.followup_owner", text=text.strip(), owner=owner)
                    if owner
                    else Msg("timeline.followup", text=text.strip())
                ),
                fx=fx,
            )

        return await self._change(incident_id, change, actor=actor)

    async def resolve(
        self,
        *,
        incident_id: int,
        actor: str,
        at: datetime | None = None,
        summary: str = "",
        override_gates: bool = False,
    ) -> IncidentSnapshot:
        """Resolves an open incident (also marking it mitigated if nobody did); required items open stop it
        unless the resolver confirms, and then the override is on the timeline."""
        await self.authorize(Act.RESOLVE, actor=actor, incident_id=incident_id)
        when = at or self._clock.now()

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
            self._require_open(row, "resolve")
            assert row.id is not None
            items = await repo.checklist_items(incident_id=row.id)
            open_gates = tuple(i.title for i in items if i.required and not i.done)
            if open_gates and not override_gates:
                raise RequiredItemsOpen(
                    Msg(
                        "errors.required_open", id=row.id, count=len(open_gates), items="; ".join(open_gates)
                    ),
                    items=open_gates,
                )
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

        return await self._change(incident_id, change, actor=actor)

    async def reopen(self, *, incident_id: int, actor: str) -> IncidentSnapshot:
        """Reopens a resolved incident (back to investigating; resolved_at is cleared)."""
        await self.authorize(Act.REOPEN, actor=actor, incident_id=incident_id)
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
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
        await self.authorize(Act.CLOSE, actor=actor, incident_id=incident_id)
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
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

    async def start_playbook(self, *, incident_id: int, name: str, actor: str) -> str:
        """Starts another playbook on the incident; returns its title."""
        playbook = find_playbook(self.config.playbooks, name)
        if playbook is None:
            known = ", ".join(p.name for p in self.config.playbooks)
            if not known:
                raise InvalidInput(Msg("errors.no_playbooks", name=name))
            raise InvalidInput(Msg("errors.unknown_playbook", name=name, known=known))

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
            if not await self._start_playbooks(repo, row, [playbook], actor=actor, fx=fx):
                raise InvalidInput(Msg("errors.playbook_running", name=playbook.name, id=row.id))

        await self._change(incident_id, change, actor=actor)
        return playbook.title

    async def tick_items(
        self, *, incident_id: int, playbook: str, first: int, count: int, done: set[str], actor: str
    ) -> IncidentSnapshot:
        """Sets the items shown together (positions first … first+count) done or not done, as ticked."""
        now = self._clock.now()

        async def change(repo: Repository, row: Incident, fx: _Effects) -> None:
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

    def _applicable(self, row: Incident) -> list[Playbook]:
        return matching(
            self.config.playbooks, severity=row.severity, services=row.services, private=row.private
        )

    async def _start_playbooks(
        self,
        repo: Repository,
        row: Incident,
        playbooks: Sequence[Playbook],
        *,
        actor: str,
        fx: _Effects | None,
    ) -> int:
        """Adds the checklist items of playbooks not yet running; returns how many playbooks started."""
        assert row.id is not None
        running = {i.playbook for i in await repo.checklist_items(incident_id=row.id)}
        started = 0
        for playbook in playbooks:
            if playbook.name in running:
                continue
            items = playbook.items_for(severity=row.severity, services=row.services, private=row.private)
            await repo.add_checklist_items(
                items=[
                    ChecklistItem(
                        incident_id=row.id,
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
                ]
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

    async def record_participant(self, *, channel_id: str, user_id: str) -> bool:
        """Records someone who joined (or came back to) an incident channel; False when not an incident
        channel or known."""
        async with self._write() as repo:
            row = await repo.incident_by_channel(channel_id=channel_id)
            if row is None or row.id is None:
                return False
            return await repo.join(incident_id=row.id, user_id=user_id, at=self._clock.now())

    async def record_departure(self, *, channel_id: str, user_id: str) -> bool:
        """Records someone who left (or was removed from) an incident channel: a private incident is hidden
        from them from now on, until they come back; False when not an incident channel or known."""
        async with self._write() as repo:
            row = await repo.incident_by_channel(channel_id=channel_id)
            if row is None or row.id is None:
                return False
            return await repo.leave(incident_id=row.id, user_id=user_id, at=self._clock.now())

    # Internals

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Repository]:
        """A transaction that changes the record; the first one of a delivery's work also marks the delivery
        done in it, and raises AlreadyDone (rolling back) when another run of the delivery did so first."""
        delivery = current_delivery()
        async with self._store.transaction() as repo:
            yield repo
            if delivery is not None and not delivery.completed:
                if not await repo.complete_delivery(delivery_id=delivery.delivery_id, at=self._clock.now()):
                    raise AlreadyDone(delivery.delivery_id)
        if delivery is not None:
            delivery.completed = True

    async def _change(
        self,
        incident_id: int,
        change: Callable[[Repository, Incident, _Effects], Awaitable[None]],
        *,
        actor: str,
    ) -> IncidentSnapshot:
        """One change of an incident the actor may see, in one transaction, then shown in Slack."""
        fx = _Effects()
        async with self._write() as repo:
            row = await self._get(repo, incident_id, for_update=True)
            await self._visible(repo, row, actor)
            await change(repo, row, fx)
            row.updated_at = self._clock.now()
            repo.session.add(row)
            await repo.count_change(row)
            snap = await snapshot_of(repo, row, timeline=False)
        await self._dispatch(snap, fx)
        return snap

    async def sync_reminders(self, *, incident_id: int, current: IncidentSnapshot | None = None) -> None:
        """Brings Slack's scheduler in line with the reminders the incident should have (idempotent): one
        transaction decides what goes and what comes, the Slack calls run together, one more transaction
        records what Slack answered; nothing moved, no Slack call. `current` is a snapshot just read."""
        snap = (
            current if current is not None else await self.snapshot(incident_id=incident_id, timeline=False)
        )
        now = self._clock.now()
        async with self._store.transaction() as repo:
            # Syncs of one incident take turns on its row, and each decides from the state stored now: one
            # from a change that another has overtaken would schedule what that one just took back.
            stored = await repo.incident(incident_id=incident_id, for_update=True)
            if stored is None:
                return
            if stored.revision != snap.revision:
                snap = await snapshot_of(repo, stored, timeline=False)
            wanted = desired_reminders(snap, cadence=self.cadence(snap), now=now)
            rows = await repo.reminders(incident_id=incident_id)
            keep = {
                r.reason
                for r in rows
                if r.reason in wanted and abs(r.post_at - wanted[r.reason].post_at) < _SECOND
            }
            stale = [r for r in rows if r.reason not in keep and r.id is not None]
            current = snap
            if not stale and keep == set(wanted):
                return
            cancel: list[tuple[str, str]] = []
            unknown = False  # a dropped reminder whose Slack id was never recorded (a crash mid-schedule)
            for row in stale:
                assert row.id is not None
                dropped = await repo.drop_reminder(reminder_id=row.id)
                # One whose time has passed was posted by Slack already: nothing to take back.
                if dropped and dropped[1] and row.post_at > now:
                    cancel.append((dropped[0], dropped[1]))
                elif dropped and row.post_at > now:
                    unknown = True
            claims: list[tuple[int, Reminder]] = []
            if snap.channel_id:
                for reason, reminder in wanted.items():
                    if reason in keep:
                        continue
                    claim = await repo.claim_reminder(
                        incident_id=incident_id,
                        reason=reason,
                        channel_id=snap.channel_id,
                        post_at=reminder.post_at,
                    )
                    if claim is not None:  # else another replica scheduled it
                        claims.append((claim, reminder))

        async def cancelled(channel_id: str, message_id: str) -> None:
            try:
                await self._chat.cancel_reminder(channel_id=channel_id, scheduled_message_id=message_id)
            except ChatError as exc:
                log.warning("cancelling reminder failed: %s", exc.reason, extra={"incident_id": incident_id})

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
            *(scheduled(reminder) for _, reminder in claims), *(cancelled(c, m) for c, m in cancel)
        )
        if unknown:
            await self.reconcile_reminders(incident_id=incident_id)
        if not claims:
            return
        unwanted: list[str] = []
        async with self._store.transaction() as repo:
            for (claim, _), message_id in zip(claims, outcomes, strict=False):
                if message_id is UNKNOWN:
                    continue
                if message_id is None:
                    await repo.drop_reminder(reminder_id=claim)
                elif not await repo.set_reminder_message(
                    reminder_id=claim, scheduled_message_id=str(message_id)
                ):
                    unwanted.append(str(message_id))
        # Dropped while Slack was scheduling it (a change that came after, at this replica or another): the
        # one who dropped it could not take it back without its id, so this one does.
        await asyncio.gather(*(cancelled(current.channel_id or "", message_id) for message_id in unwanted))

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
        for message_id, post_at in waiting:
            if message_id in known:
                continue
            match = next((r for r in unrecorded if _same_time(r.post_at, post_at)), None)
            if match is None:
                orphans.append(message_id)
                continue
            unrecorded.remove(match)
            assert match.id is not None
            async with self._store.transaction() as repo:
                if not await repo.set_reminder_message(reminder_id=match.id, scheduled_message_id=message_id):
                    orphans.append(message_id)  # dropped meanwhile
        for message_id in orphans:
            try:
                await self._chat.cancel_reminder(channel_id=row.channel_id, scheduled_message_id=message_id)
            except ChatError as exc:
                log.warning("cancelling reminder failed: %s", exc.reason, extra={"incident_id": incident_id})
        if unrecorded:  # claims Slack holds nothing for: free them, so the reminders are scheduled again
            async with self._store.transaction() as repo:
                for claim in unrecorded:
                    assert claim.id is not None
                    await repo.drop_reminder(reminder_id=claim.id)
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

    async def _dispatch(self, snap: IncidentSnapshot, fx: _Effects) -> None:
        """Shows a committed change in Slack (bot.incidents.effects: coalesced, and resumed after a crash);
        a failure is logged, never lost from the record."""
        if fx.lines and snap.channel_id:
            await self.effects.show(snap.id)

    async def _event(
        self,
        repo: Repository,
        row: Incident,
        *,
        at: datetime,
        kind: EventKind,
        actor: str | None,
        text: Text,
        data: dict[str, Any] | None = None,
        source_ref: str | None = None,
        permalink: str | None = None,
        fx: _Effects | None = None,
    ) -> bool:
        """Adds one timeline event (user words as they are; Hashi's own words as a Msg, stored as English text
        and as its key and parameters, so each reader sees it in their language)."""
        assert row.id is not None
        now = self._clock.now()
        message: Msg | None = None
        if isinstance(text, Msg):
            message = Msg(
                text.key, **{k: clean(v) if isinstance(v, str) else v for k, v in text.params.items()}
            )
            data = {**(data or {}), "msg": message.as_data()}
            text = str(message)
        text = clean(text)
        event_id = await repo.add_event(
            incident_id=row.id,
            at=at,
            recorded_at=now,
            kind=kind.value,
            actor=actor,
            text=text,
            source_ref=source_ref,
            permalink=permalink,
            data=data,
            line_posted=False if fx is not None else None,  # a line tells the channel (effects.py)
        )
        if event_id is not None and fx is not None:
            fx.lines += 1
        return event_id is not None

    @staticmethod
    async def _visible(repo: Repository, row: Incident, user_id: str | None) -> None:
        """Raises IncidentNotFound, as for a missing incident, unless the user may see it (anyone a public
        one; the people in a private one). `None` is Hashi itself, or Slack telling of its own channel."""
        if not row.private or user_id is None:
            return
        assert row.id is not None
        named = user_id in (row.declared_by, row.lead)
        if not await repo.is_in(incident_id=row.id, user_id=user_id, named=named):
            raise IncidentNotFound(Msg("errors.not_visible", id=row.id))

    async def _get(self, repo: Repository, incident_id: int, *, for_update: bool = False) -> Incident:
        row = await repo.incident(incident_id=incident_id, for_update=for_update)
        if row is None:
            raise IncidentNotFound(Msg("errors.not_visible", id=incident_id))
        return row

    @staticmethod
    def _require_open(row: Incident, what: str) -> None:
        """`what` names the change (`acts.severity`-like key under `changes.`)."""
        if row.status not in {s.value for s in OPEN_STATUSES}:
            key = (
                "errors.not_open_resolved"
                if row.status == Status.RESOLVED.value
                else "errors.not_open_closed"
            )
            raise InvalidTransition(
                Msg(key, id=row.id, status=Msg(f"status_word.{row.status}"), what=Msg(f"changes.{what}"))
            )

    async def _record_setup(self, incident_id: int, *, error: str) -> None:
        """Notes why the set-up stopped, and gives its lease back."""
        async with self._store.transaction() as repo:
            row = await self._get(repo, incident_id)
            row.setup_error = error
            row.setup_claimed_at = None
            repo.session.add(row)


UNKNOWN = "?"  # a reminder Slack gave no answer for: it may or may not hold it

# The steps of a room's set-up, as RoomSetup.missing names them (the catalogue words them: `steps.<name>`).
SETUP_STEPS = ("channel", "invite", "topic", "card", "announcement", "checklist", "pin", "in_progress")
SETUP_IN_PROGRESS = "in_progress"


def clean(text: str) -> str:
    """User text without NUL characters, which PostgreSQL cannot store in text (and no one means)."""
    return text.replace("\x00", "")


def _same_time(a: datetime, b: datetime) -> bool:
    return abs(a - b) < _SECOND


def may_see(incident: IncidentSnapshot, user_id: str) -> bool:
    """Whether a user may see an incident: anyone for a public one; the people in a private one."""
    if not incident.private:
        return True
    return user_id in incident.people


async def _none() -> None:
    return None
