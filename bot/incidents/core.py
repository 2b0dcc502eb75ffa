"""What every subject of the incident service shares: ports, configuration, one unit of work per change."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.i18n import Msg, Text
from bot.incidents.deliveries import AlreadyDone, current_delivery
from bot.incidents.effects import Claim, Effects
from bot.incidents.errors import (
    IncidentNotFound,
    InvalidTransition,
)
from bot.incidents.fields import RecordShape
from bot.incidents.model import (
    DEFAULT_SEVERITIES,
    OPEN_STATUSES,
    EventKind,
    IncidentSnapshot,
    Status,
)
from bot.incidents.permissions import Policy
from bot.incidents.playbooks import Playbook
from bot.incidents.ports import Chat, Clock, Directory, Pager
from bot.incidents.queries import snapshot_of
from storage.models import Incident
from storage.repository import Repository, Store

if TYPE_CHECKING:
    from bot.incidents.access import Access
    from bot.incidents.checklists import Checklists
    from bot.incidents.declaring import Declaring
    from bot.incidents.lifecycle import Lifecycle
    from bot.incidents.paging import Paging
    from bot.incidents.reading import Reading
    from bot.incidents.scheduler import Scheduler
    from bot.incidents.shaping import Shaping
    from bot.incidents.timeline import Timeline

log = logging.getLogger(__name__)


LEAD_ROLE = "lead"
SECOND = timedelta(seconds=1)  # Slack's scheduler keeps whole seconds


@dataclass(frozen=True)
class PagingPolicy:
    """Which declarations page (a configured severity, or any of these services)."""

    severities: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


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
    # The incident types and custom fields the team gives its incidents.
    shape: RecordShape = field(default_factory=RecordShape)
    # Who joins an incident's room: by service (its responders), and by severity; user groups (S…) and users.
    responders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    invites: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def responders_of(self, service: str) -> tuple[str, ...]:
        """The user groups and users who answer for a service (its name in any case)."""
        folded = service.casefold()
        return next((who for name, who in self.responders.items() if name.casefold() == folded), ())

    def invited(self, *, severity: str, services: Sequence[str]) -> tuple[str, ...]:
        """The user groups and users to invite for an incident of that severity with those services."""
        found = [*self.invites.get(severity, ())]
        for service in services:
            found += self.responders_of(service)
        return tuple(dict.fromkeys(found))

    # Which declarations page (PagerDuty's [integrations.pagerduty]); None: none do.
    paging: PagingPolicy | None = None


@dataclass
class ChangeEffects:
    """What a change leaves for Slack to show: how many lines it noted (effects.py reads them back)."""

    lines: int = 0
    pages: int = 0  # pages it recorded, to send after the commit
    claim: Claim | None = None  # the showing its transaction claimed, if any (Part._claim_showing)


@dataclass
class Parts:
    """The service's subjects, each a module of its own; they call each other through here."""

    access: Access
    reading: Reading
    declaring: Declaring
    lifecycle: Lifecycle
    timeline: Timeline
    checklists: Checklists
    scheduler: Scheduler
    paging: Paging
    shaping: Shaping


@dataclass
class Core:
    """What every subject shares: the store, the ports, the team's configuration, Slack's effects."""

    store: Store
    chat: Chat
    clock: Clock
    config: IncidentConfig
    directory: Directory | None = None
    pager: Pager | None = None
    effects: Effects = field(init=False)
    parts: Parts = field(init=False)


class Part:
    """One subject of the service: its shared ports and the unit of work every change goes through."""

    def __init__(self, core: Core) -> None:
        self._core = core

    @property
    def _store(self) -> Store:
        return self._core.store

    @property
    def _chat(self) -> Chat:
        return self._core.chat

    @property
    def _clock(self) -> Clock:
        return self._core.clock

    @property
    def _directory(self) -> Directory | None:
        return self._core.directory

    @property
    def config(self) -> IncidentConfig:
        """The team's configuration."""
        return self._core.config

    @property
    def effects(self) -> Effects:
        """Shows committed changes in Slack."""
        return self._core.effects

    @property
    def parts(self) -> Parts:
        """The other subjects."""
        return self._core.parts

    @asynccontextmanager
    async def _write(self, fx: ChangeEffects | None = None) -> AsyncIterator[Repository]:
        """A transaction that changes the record; the first one of a delivery's work also marks the delivery
        done in it, and raises AlreadyDone (rolling back) when another run of the delivery did so first. When
        it fails before its commit, the showing it claimed (`fx.claim`) is dropped with it; when its commit
        itself fails, the database may have committed (lines then marked told), so what was claimed is shown
        anyway: a line twice rather than never."""
        delivery = current_delivery()
        repo: Repository | None = None
        try:
            async with self._store.transaction() as repo:
                yield repo
                if delivery is not None and not delivery.completed:
                    at = self._clock.now()
                    if not await repo.complete_delivery(delivery_id=delivery.delivery_id, at=at):
                        raise AlreadyDone(delivery.delivery_id)
        except BaseException:
            if fx is not None and fx.claim is not None:
                if repo is not None and repo.committing:
                    fx.claim.show_anyway()
                else:
                    fx.claim.drop()
                fx.claim = None
            raise
        if delivery is not None:
            delivery.completed = True

    async def _claim_showing(
        self, repo: Repository, row: Incident, fx: ChangeEffects, snap: IncidentSnapshot | None = None
    ) -> None:
        """At the end of a change's transaction (`_write(fx)`), after its events: claims the showing of its
        lines there when none runs (bot.incidents.effects), saving the showing a transaction of its own."""
        if fx.lines:
            fx.claim = await self.effects.claim(repo, row, snap)

    async def _show(self, incident_id: int, channel_id: str | None, fx: ChangeEffects) -> None:
        """Shows a committed change's lines (and state) in Slack, coalesced with others (effects.py)."""
        if fx.claim is not None:
            await fx.claim.hand_over()
        elif fx.lines and channel_id:
            await self.effects.show(incident_id)

    async def _change(
        self,
        incident_id: int,
        change: Callable[[Repository, Incident, ChangeEffects], Awaitable[None]],
        *,
        actor: str | None,
    ) -> IncidentSnapshot:
        """One change of an incident the actor may see (None: Hashi itself), in one transaction, then shown
        in Slack."""
        fx = ChangeEffects()
        async with self._write(fx) as repo:
            row = await self._get(repo, incident_id, for_update=True)
            await self._visible(repo, row, actor)
            acknowledged, resolved = row.acknowledged_at is not None, row.status == Status.RESOLVED.value
            severity = row.severity
            await change(repo, row, fx)
            if row.severity != severity:  # raised to a severity that pages: as if declared at it (once)
                fx.pages += await self.parts.paging.on_declared(repo, row)
            # The pager follows Slack: an incident just acknowledged or resolved there is so at the pager.
            if not acknowledged and row.acknowledged_at is not None:
                fx.pages += await self.parts.paging.follow(repo, row, action="acknowledge")
            if not resolved and row.status == Status.RESOLVED.value:
                fx.pages += await self.parts.paging.follow(repo, row, action="resolve")
            row.updated_at = self._clock.now()
            repo.session.add(row)
            await repo.count_change(row)
            await repo.session.flush()  # the snapshot reads rows, and shows what the change made of them
            snap = await snapshot_of(repo, row, timeline=False)
            await self._claim_showing(repo, row, fx, snap)
        await self._dispatch(snap, fx)
        return snap

    async def _dispatch(self, snap: IncidentSnapshot, fx: ChangeEffects) -> None:
        """Shows a committed change in Slack (bot.incidents.effects: coalesced, and resumed after a crash);
        a failure is logged, never lost from the record; pages it recorded go out in the background."""
        if fx.pages:
            self.parts.paging.send_soon(snap.id)
        await self._show(snap.id, snap.channel_id, fx)

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
        fx: ChangeEffects | None = None,
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


def clean(text: str) -> str:
    """User text without NUL characters, which PostgreSQL cannot store in text (and no one means)."""
    return text.replace("\x00", "")


def same_time(a: datetime, b: datetime) -> bool:
    """Whether two times are the same to the second (Slack's scheduler keeps whole seconds)."""
    return abs(a - b) < SECOND
