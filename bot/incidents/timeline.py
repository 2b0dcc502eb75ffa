"""The timeline beyond state changes: notes, Slack messages pinned or marked, who joined and left the room."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.i18n import Msg
from bot.incidents.core import ChangeEffects, Part, clean, same_time
from bot.incidents.errors import (
    ChatError,
    InvalidInput,
)
from bot.incidents.model import (
    EventKind,
    Milestone,
    Status,
    TimelineEntry,
)
from bot.incidents.ports import ChatMessage
from bot.incidents.queries import entry_of
from storage.models import Incident, TimelineEvent
from storage.repository import Repository

log = logging.getLogger(__name__)

# Severity changes make the severity history stats read: they can be moved and reworded, not deleted.
SEVERITY_KINDS = frozenset({EventKind.DECLARED.value, EventKind.SEVERITY.value})

# The milestone an event of each kind sets (a `milestone` or `mitigated` event names its own in its data; a
# move to monitoring sets mitigated_at when it was the first).
_MILESTONE_OF_KIND: Mapping[str, Milestone] = {
    EventKind.DECLARED.value: Milestone.DECLARED,
    EventKind.ACKNOWLEDGED.value: Milestone.ACKNOWLEDGED,
    EventKind.RESOLVED.value: Milestone.RESOLVED,
    EventKind.CLOSED.value: Milestone.CLOSED,
}


def milestone_set_by(event: TimelineEvent, row: Incident) -> Milestone | None:
    """The milestone this event set and still holds (its time is the milestone's), else None."""
    data: Mapping[str, Any] = event.data or {}
    named = data.get("milestone")
    milestone: Milestone | None
    if isinstance(named, str) and named in {m.value for m in Milestone}:
        milestone = Milestone(named)
    elif event.kind == EventKind.STATUS.value and data.get("to") == Status.MONITORING.value:
        milestone = Milestone.MITIGATED
    else:
        milestone = _MILESTONE_OF_KIND.get(event.kind)
    if milestone is None:
        return None
    current: datetime | None = getattr(row, milestone.value)
    return milestone if current is not None and same_time(current, event.at) else None


@dataclass(frozen=True)
class EntryEdit:
    """What a correction did: the entry as it is now, and the milestone it moved (if any)."""

    entry: TimelineEntry
    moved: Milestone | None
    deleted: bool


class Timeline(Part):
    """Notes and Slack messages on the timeline, and the people in the room."""

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
        fx = ChangeEffects()
        async with self._write(fx) as repo:
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
            await self._claim_showing(repo, row, fx)
        await self._show(incident_id, channel_id, fx)
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
            if text is not None and clean(text) != event.text:
                # The author edited the message in Slack: the entry follows, keeping what it said before.
                event.previous = [*(event.previous or []), _version(event)]
                event.edited_at, event.edited_by = self._clock.now(), event.actor
                event.text = clean(text)
            repo.session.add(event)
        return True

    async def capture_message(
        self, *, channel_id: str, ts: str, at: datetime, message: ChatMessage | None
    ) -> bool:
        """Puts a Slack message (pinned, or marked with the timeline emoji) on the timeline of the incident
        whose room the channel is, once; one taken off and marked again comes back. `message` is None when
        the event did not carry it (Chat is asked). False when the channel is no incident's room or Slack has
        no such message."""
        incident_id = await self.parts.reading.incident_for_channel(channel_id=channel_id)
        if incident_id is None:
            return False
        if message is None:
            message = await self._chat.message(channel_id=channel_id, ts=ts)
        if message is None:
            return False
        added = await self.add_note(
            incident_id=incident_id,
            text=message.text,
            actor=message.author,
            at=at,
            kind=EventKind.SLACK_MESSAGE,
            source_ref=ts,
            permalink=await self._chat.permalink(channel_id=channel_id, ts=ts),
            announce=False,
        )
        if not added:
            await self.update_slack_message(
                incident_id=incident_id, source_ref=ts, text=message.text, deleted=False
            )
        return True

    async def follow_message(
        self, *, channel_id: str, ts: str, text: str | None = None, deleted: bool | None = None
    ) -> bool:
        """Keeps a Slack message on the timeline of its channel's incident in step with Slack (see
        update_slack_message); False when the channel is no incident's room or the message is not on it."""
        incident_id = await self.parts.reading.incident_for_channel(channel_id=channel_id)
        if incident_id is None:
            return False
        return await self.update_slack_message(
            incident_id=incident_id, source_ref=ts, text=text, deleted=deleted
        )

    async def latest_entries(
        self, *, incident_id: int, user_id: str, limit: int, offset: int
    ) -> tuple[list[TimelineEntry], int]:
        """A page of the incident's timeline, newest first, if the user may see it; and how many entries."""
        async with self._store.transaction() as repo:
            row = await self._get(repo, incident_id)
            await self._visible(repo, row, user_id)
            events, total = await repo.latest_events(incident_id=incident_id, limit=limit, offset=offset)
        return [entry_of(event) for event in events], total

    async def entry(
        self, *, incident_id: int, entry_id: int, user_id: str
    ) -> tuple[TimelineEntry, Milestone | None, bool]:
        """One entry of the incident's timeline, if the user may see the incident, the milestone it holds,
        and whether it may be deleted; an entry of another incident (or deleted) is refused as one that does
        not exist."""
        async with self._store.transaction() as repo:
            row = await self._get(repo, incident_id)
            await self._visible(repo, row, user_id)
            event = await repo.event(incident_id=incident_id, event_id=entry_id)
            if event is None or event.deleted:
                raise InvalidInput(Msg("errors.no_such_entry", id=incident_id, entry=entry_id))
            milestone = milestone_set_by(event, row)
            deletable = milestone is None and event.kind not in SEVERITY_KINDS
            return await self._entry(repo, event), milestone, deletable

    async def edit_entry(
        self,
        *,
        incident_id: int,
        entry_id: int,
        actor: str,
        text: str | None = None,
        at: datetime | None = None,
        delete: bool = False,
    ) -> EntryEdit:
        """Corrects a timeline entry's text or time, or deletes it (it stays stored, out of the timeline),
        keeping what it said before and who changed it; moving the entry of a milestone moves the milestone
        (and so the metrics). An entry of another incident is refused as one that does not exist."""
        if text is not None and not text.strip():
            raise InvalidInput(Msg("errors.entry_text_missing"))
        now = self._clock.now()
        async with self._write() as repo:
            row = await self._get(repo, incident_id, for_update=True)
            await self._visible(repo, row, actor)
            event = await repo.event(incident_id=incident_id, event_id=entry_id)
            if event is None or event.deleted:
                raise InvalidInput(Msg("errors.no_such_entry", id=incident_id, entry=entry_id))
            milestone = milestone_set_by(event, row)
            if delete and milestone is not None:
                label = Msg(f"milestones.{milestone}")
                raise InvalidInput(Msg("errors.milestone_entry_kept", milestone=label))
            if delete and event.kind in SEVERITY_KINDS:
                raise InvalidInput(Msg("errors.severity_entry_kept"))
            new_text = None if text is None or clean(text.strip()) == event.text else clean(text.strip())
            new_at = None if at is None or at == event.at else at
            if not delete and new_text is None and new_at is None:
                return EntryEdit(entry=await self._entry(repo, event), moved=None, deleted=False)
            previous = [*(event.previous or []), _version(event)]
            event.previous = previous
            event.edited_at, event.edited_by = now, actor
            if delete:
                event.deleted = True
            if new_text is not None:
                event.text = new_text
                if "msg" in (event.data or {}):  # a person's words replace Hashi's own
                    event.data = {k: v for k, v in event.data.items() if k != "msg"}
            moved = None
            if new_at is not None:
                event.at = new_at
                if milestone is not None:
                    setattr(row, milestone.value, new_at)
                    row.updated_at = now
                    repo.session.add(row)
                    await repo.count_change(row)
                    moved = milestone
            repo.session.add(event)
            if new_at is not None and event.kind in SEVERITY_KINDS:
                await repo.refresh_stats([incident_id])  # stats read the severity history from these events
            if actor:
                await repo.add_participant(incident_id=incident_id, user_id=actor, at=now)
            entry = await self._entry(repo, event)
            channel_id = row.channel_id
        if moved is not None and channel_id:
            await self.effects.show(incident_id)  # the card shows the milestones
        return EntryEdit(entry=entry, moved=moved, deleted=delete)

    @staticmethod
    async def _entry(repo: Repository, event: TimelineEvent) -> TimelineEntry:
        await repo.session.flush()
        return entry_of(
            {
                "id": event.id,
                "at": event.at,
                "recorded_at": event.recorded_at,
                "kind": event.kind,
                "actor": event.actor,
                "text": event.text,
                "source_ref": event.source_ref,
                "permalink": event.permalink,
                "data": event.data,
                "edited_at": event.edited_at,
                "edited_by": event.edited_by,
                "previous": event.previous,
            }
        )

    async def record_participant(self, *, channel_id: str, user_id: str) -> bool:
        """Records someone who joined (or came back to) an incident channel; False when not an incident
        channel or known."""
        return await self._moved(channel_id=channel_id, user_id=user_id, joined=True)

    async def record_departure(self, *, channel_id: str, user_id: str) -> bool:
        """Records someone who left (or was removed from) an incident channel: a private incident is hidden
        from them from now on, until they come back; False when not an incident channel or known."""
        return await self._moved(channel_id=channel_id, user_id=user_id, joined=False)

    async def _moved(self, *, channel_id: str, user_id: str, joined: bool) -> bool:
        async with self._write() as repo:
            row = await repo.incident_by_channel(channel_id=channel_id)
            if row is None or row.id is None:
                return False
            move = repo.join if joined else repo.leave
            return await move(incident_id=row.id, user_id=user_id, at=self._clock.now())

    # Internals

    async def follow_private_rooms(self) -> int:
        """Brings who is in each open private incident in line with its channel as Slack knows it, for what
        Hashi may have missed (a removal while every replica was down): someone recorded but no longer in
        the channel has left it, someone in it has joined. Returns how many people it recorded as moved."""
        async with self._store.transaction() as repo:
            rooms = await repo.open_private_rooms()
        moved = 0
        for incident_id, channel_id in rooms:
            try:
                members = await self._chat.channel_members(channel_id=channel_id)
            except ChatError as exc:
                log.info(
                    "members of %s unknown: %s", channel_id, exc.reason, extra={"incident_id": incident_id}
                )
                continue
            now = self._clock.now()
            async with self._store.transaction() as repo:
                recorded = await repo.participants(incident_id=incident_id)
                present = {p.user_id for p in recorded if p.left_at is None}
                for user_id in present - members:
                    moved += await repo.leave(incident_id=incident_id, user_id=user_id, at=now)
                for user_id in members - present:
                    moved += await repo.join(incident_id=incident_id, user_id=user_id, at=now)
        return moved


def _version(event: TimelineEvent) -> dict[str, Any]:
    """An event's time and text as they are, for its `previous` list (JSON)."""
    return {
        "at": event.at.isoformat(),
        "text": event.text,
        "edited_at": event.edited_at.isoformat() if event.edited_at else None,
        "edited_by": event.edited_by,
    }
