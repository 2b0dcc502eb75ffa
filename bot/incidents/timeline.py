"""The timeline beyond state changes: notes, Slack messages pinned or marked, who joined and left the room."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.i18n import Msg
from bot.incidents.core import ChangeEffects, Part, clean
from bot.incidents.errors import (
    ChatError,
    InvalidInput,
)
from bot.incidents.model import (
    EventKind,
)

log = logging.getLogger(__name__)


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
