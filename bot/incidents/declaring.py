"""Declaring an incident and setting up its Slack room: channel, invites, topic, card, pin, announcement,
checklist."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.i18n import Msg
from bot.incidents.core import LEAD_ROLE, Part, clean
from bot.incidents.errors import (
    ChatError,
    InvalidInput,
)
from bot.incidents.escaping import channel_slug
from bot.incidents.fields import Required, require
from bot.incidents.model import (
    EventKind,
    IncidentSnapshot,
    Milestone,
    Status,
)
from bot.incidents.permissions import Act
from bot.incidents.queries import bare_snapshot, snapshot_of
from bot.incidents.scheduler import ReminderPlan
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)


MAX_CHANNEL_NAME = 80
# The steps of a room's set-up, as RoomSetup.missing names them (the catalogue words them: `steps.<name>`).
SETUP_STEPS = ("channel", "invite", "topic", "card", "announcement", "checklist", "pin", "in_progress")
SETUP_IN_PROGRESS = "in_progress"


@dataclass(frozen=True)
class RoomSetup:
    """What setting up an incident's Slack room did, and what it could not do."""

    incident: IncidentSnapshot
    created: bool
    missing: tuple[str, ...] = ()


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


class Declaring(Part):
    """Declares incidents and sets up (and repairs) their rooms."""

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
        actor: str | None,
        severity: str | None = None,
        summary: str = "",
        services: Sequence[str] = (),
        private: bool = False,
        detected_at: datetime | None = None,
        impact_started_at: datetime | None = None,
        lead: str | None = None,
        request_key: str | None = None,
        team_id: str | None = None,
        incident_type: str | None = None,
        fields: Mapping[str, str] | None = None,
        also: Callable[[Repository, Incident], Awaitable[None]] | None = None,
    ) -> RoomSetup:
        """Records a new incident, then opens its Slack room; a repeated request_key returns the first one.
        `incident_type` None is the configured default; `fields` are values typed or chosen, by field name.
        `actor` None is Hashi itself (an alert); `also` writes more of the declaration in its transaction."""
        if actor is not None:
            await self.parts.access.authorize(Act.DECLARE, actor=actor)
        title = clean(title).strip()
        if not title:
            raise InvalidInput(Msg("errors.title_missing"))
        code = self.severity(severity)
        shape = self.config.shape
        chosen_type = shape.incident_type(incident_type)
        values = shape.values({name: clean(text) for name, text in (fields or {}).items()})
        if actor is not None:  # an alert cannot fill in the team's fields; people do, once it is open
            require(shape, Required.DECLARE, values)
        now = self._clock.now()
        pages = 0
        async with self._write() as repo:
            row = Incident(
                title=title,
                summary=clean(summary).strip(),
                severity=code,
                status=Status.INVESTIGATING.value,
                private=private,
                services=list(dict.fromkeys(clean(s).strip() for s in services if clean(s).strip())),
                incident_type=chosen_type,
                custom_fields=values,
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
                if actor is not None:
                    await repo.add_participant(incident_id=incident.id, user_id=actor, at=now)
                if also is not None:
                    await also(repo, incident)
                pages = await self.parts.paging.on_declared(repo, incident)
                await self.parts.checklists.start_playbooks(
                    repo,
                    incident,
                    self.parts.checklists.applicable(incident),
                    actor=actor,
                    fx=None,
                    fresh=True,
                )
            # A new incident's room is asked of Slack at once: what the room shows besides its name (the card,
            # topic, invites, reminders) is read while Slack makes the channel (`_set_up_room_for`).
            snap = bare_snapshot(incident) if created else await snapshot_of(repo, incident, timeline=False)
            room = _RoomState.of(incident)
        assert incident.id is not None
        if created and pages:
            self.parts.paging.send_soon(incident.id)
        if not created:
            # A repeated request (Slack's retry, or the same click twice): the first one sets the room up.
            return RoomSetup(incident=snap, created=False)
        setup = await self._holding_setup(
            incident.id, self._set_up_room(snap, room, look_first=False, whole=False)
        )
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
        return await self._holding_setup(incident_id, self._set_up_room(snap, room, look_first=True))

    async def _holding_setup(self, incident_id: int, setup: Awaitable[RoomSetup]) -> RoomSetup:
        """Runs a set-up whose lease this process holds: its last transaction gives the lease back, and so
        does a failure on the way (a bug, a cancelled task at a stop)."""
        try:
            return await setup
        except BaseException:
            async with self._store.transaction() as repo:
                await repo.release_setup(incident_id=incident_id)
            raise

    async def _set_up_room(
        self, snap: IncidentSnapshot, room: _RoomState, *, look_first: bool, whole: bool = True
    ) -> RoomSetup:
        # The declarer, the lead, and who the severity and the services bring: their user groups are looked
        # up while the channel is created, so the room is ready after as many round trips as without them.
        people = [u for u in (snap.declared_by, snap.lead) if u]
        people += self.config.invited(severity=snap.severity, services=snap.services)
        invitees = asyncio.ensure_future(self.parts.shaping.invitees(people))
        try:
            return await self._set_up_room_for(snap, room, invitees, look_first=look_first, whole=whole)
        finally:
            invitees.cancel()  # done by then, unless the channel could not be made

    async def _set_up_room_for(
        self,
        snap: IncidentSnapshot,
        room: _RoomState,
        invitees: Awaitable[list[str]],
        *,
        look_first: bool,
        whole: bool,
    ) -> RoomSetup:
        """`whole`: `snap` is the incident as stored; else only its row (a new incident), and the rest is read
        once its channel is recorded."""
        assert whole or room.channel_id is None, "only a new incident's room starts from its row alone"
        incident_id = snap.id
        first_read = snap.revision  # a change committed after this had no channel to tell (its lines wait)
        missing: list[str] = []
        channel_id = room.channel_id
        # A new channel's reminders are decided as it is recorded and scheduled with the rest of the set-up.
        early: ReminderPlan | None = None
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
                if not whole:
                    snap = await snapshot_of(repo, await self._get(repo, incident_id), timeline=False)
                snap = replace(snap, channel_id=created.channel_id, channel_name=created.name)
                early = await self.parts.scheduler.plan(repo, snap)

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
            step("invite", self.parts.shaping.invite_users(channel_id=channel_id, users=invitees))
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
        steps.append(self.parts.scheduler.call(early) if early is not None else _none())
        _, _, card_ts, announce_ts, checklist_ts, scheduled = await asyncio.gather(*steps)
        card_ts = card_ts or room.card_ts
        pinned = room.card_pinned
        if card_ts and not pinned:
            await step("pin", self._chat.pin(channel_id=channel_id, ts=card_ts))
            pinned = "pin" not in missing
        async with self._store.transaction() as repo:
            stored = await repo.finish_setup(
                incident_id=incident_id,
                card_ts=card_ts,
                posted_revision=posted.revision,
                pinned=pinned,
                topic="topic" not in missing,
                announce_ts=announce_ts,
                checklist_ts=checklist_ts,
                error=", ".join(missing),
                at=self._clock.now(),
            )
            if stored is not None and stored[0] == posted.revision:
                snap = replace(snap, card_ts=stored[1], checklist_ts=stored[2])
            else:
                snap = await snapshot_of(repo, await self._get(repo, incident_id), timeline=False)
            if early is not None:  # what Slack answered for them, in the same transaction
                unwanted = await self.parts.scheduler.record(repo, early, scheduled)
            else:  # the reminders of the room as it now stands, decided in the same transaction
                reminders = await self.parts.scheduler.plan(repo, snap)
        if early is not None:
            await self.parts.scheduler.cancel_unwanted(early, unwanted)
        else:
            await self.parts.scheduler.carry_out(reminders)
        if snap.revision != posted.revision or posted.revision != first_read:
            # A change committed while the room was being set up, when there was no card for it to update yet
            # (or, before its channel was recorded, no channel to tell of it).
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

    async def _record_setup(self, incident_id: int, *, error: str) -> None:
        """Notes why the set-up stopped, and gives its lease back."""
        async with self._store.transaction() as repo:
            row = await self._get(repo, incident_id)
            row.setup_error = error
            row.setup_claimed_at = None
            repo.session.add(row)


async def _none() -> None:
    return None
