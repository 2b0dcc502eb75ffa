"""Effects on Slack: what a committed change shows in its channel, coalesced per incident and durable.

A change commits first and notes in the record what Slack has yet to see: its timeline event is a line to
tell the channel (`line_posted` false), and the incident's revision moves past the one its card shows
(`card_revision`). Showing reads that back: it takes the lines not yet told and posts them in one message,
updates the card once with the stored state, the checklist when a line says it changed, and the reminders.
Changes that commit while a showing runs are shown together by the next one, so a busy incident makes one
card update and one message for a burst of notes instead of one each (Slack's limits: chat.update is Tier 3,
chat.postMessage about one message per second per channel). What a crash, a stop or a Slack failure left
unshown is in the record, and `show_pending` shows it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from bot.incidents.errors import ChatError
from bot.incidents.model import EventKind, IncidentSnapshot, TimelineEntry
from bot.incidents.ports import Chat
from bot.incidents.queries import bare_snapshot, entry_of, snapshot_of
from storage.models import Incident
from storage.repository import Repository, Store

log = logging.getLogger(__name__)

# How many times a showing looks again when another change (another replica) committed while it ran.
CATCH_UP_PASSES = 3
# A burst's next showing waits until this long after the last one began (one line message a second per
# channel, as Slack asks); a showing with nothing before it goes at once.
LINE_INTERVAL = 1.0


# Set while replaying recorded deliveries: their changes do not wait for Slack to show them.
_BEHIND: ContextVar[bool] = ContextVar("hashi_effects_behind", default=False)


@contextmanager
def shown_behind() -> Iterator[None]:
    """Changes made inside return once recorded, without waiting for their showing in Slack, which goes on
    coalesced behind them: a restart replaying what it had recorded is back to answering Slack once the
    record is, not after each note's line has been paced into its channel."""
    token = _BEHIND.set(True)
    try:
        yield
    finally:
        _BEHIND.reset(token)


@dataclass
class _Showing:
    """The showing under way for one incident, and whether changes came in during it."""

    task: asyncio.Task[None] | None = None
    again: bool = False
    upcoming: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class _Batch:
    """What one pass of a showing shows, read (its lines claimed) in one transaction."""

    snap: IncidentSnapshot
    lines: list[TimelineEntry]
    data: list[dict[str, Any]]
    card_due: bool
    state_changed: bool
    whole: bool  # the state is shown (card, checklist, reminders), not lines alone


class Claim:
    """A showing reserved in a change's transaction, with what it claimed there. After the commit,
    `hand_over` shows it; when the transaction fails, `drop` (the showing then reads what is committed)."""

    def __init__(self, first: asyncio.Future[_Batch | None], shown: asyncio.Future[None]) -> None:
        self._first = first
        self._shown = shown
        self.batch: _Batch | None = None

    async def hand_over(self) -> None:
        """Shows what was claimed (the change has committed); returns once it is shown."""
        self.show_anyway()
        if not _BEHIND.get():
            await asyncio.shield(self._shown)

    def drop(self) -> None:
        """The change did not commit: what it claimed did not either."""
        if not self._first.done():
            self._first.set_result(None)

    def show_anyway(self) -> None:
        """The change's commit failed in a way that may have committed it: shows what was claimed, without
        waiting."""
        if not self._first.done():
            self._first.set_result(self.batch)


class Effects:
    """Shows committed changes in Slack (see the module's docstring)."""

    def __init__(
        self,
        *,
        store: Store,
        chat: Chat,
        sync_reminders: Callable[[int, IncidentSnapshot], Awaitable[None]],
        line_interval: float = LINE_INTERVAL,
    ) -> None:
        self._store = store
        self._chat = chat
        self._sync_reminders = sync_reminders
        self._line_interval = line_interval
        self._showings: dict[int, _Showing] = {}

    async def show(self, incident_id: int) -> None:
        """Shows what is stored of the incident and not yet in Slack. With no showing under way, returns once
        it is shown (or its failure logged); while one runs, asks it to go again and returns at once (the
        change is in the record: it never waits on Slack for someone else's showing)."""
        showing = self._showings.get(incident_id)
        if showing is not None:
            showing.again = True
            return
        showing = self._showings[incident_id] = _Showing()
        showing.task = asyncio.ensure_future(self._show_until_caught_up(incident_id, showing))
        if not _BEHIND.get():
            await asyncio.shield(showing.upcoming)

    async def idle(self) -> None:
        """Waits for the showings under way (a stop lets them end before the database pool goes)."""
        while self._showings:
            await asyncio.gather(
                *(s.task for s in list(self._showings.values()) if s.task is not None), return_exceptions=True
            )

    async def show_pending(self) -> int:
        """Shows what a crash, a stop or a Slack failure left unshown, incident by incident; returns how many
        incidents it showed."""
        async with self._store.transaction() as repo:
            ids = await repo.incidents_with_effects_to_show()
        for incident_id in ids:
            await self.show(incident_id)
        return len(ids)

    async def claim(
        self, repo: Repository, row: Incident, snap: IncidentSnapshot | None = None
    ) -> Claim | None:
        """Inside a change's own transaction, after its events (`snap`: the state it leaves, when the change
        has read it): when no showing of the incident is under way here, reserves the next one and claims in
        that transaction what it will show, which saves the showing a transaction of its own. None when one is
        under way: `show` after the commit, and that one goes again."""
        assert row.id is not None
        if row.id in self._showings or not row.channel_id:
            return None
        showing = self._showings[row.id] = _Showing()
        first: asyncio.Future[_Batch | None] = asyncio.get_running_loop().create_future()
        claim = Claim(first, showing.upcoming)
        showing.task = asyncio.ensure_future(self._show_until_caught_up(row.id, showing, first))
        try:
            claim.batch = await self._read(repo, row, state_changed=False, snap=snap)
        except BaseException:
            claim.drop()
            raise
        return claim

    async def _show_until_caught_up(
        self, incident_id: int, showing: _Showing, first: asyncio.Future[_Batch | None] | None = None
    ) -> None:
        loop = asyncio.get_running_loop()
        began: float | None = None
        try:
            while True:
                this, showing.upcoming = showing.upcoming, loop.create_future()
                # A claimed first pass was read before this task ran: a call to go again since then holds.
                if first is None:
                    showing.again = False
                if began is not None:  # a burst: pace the channel's messages
                    await asyncio.sleep(max(0.0, began + self._line_interval - loop.time()))
                began = loop.time()
                try:
                    claimed = await first if first is not None else None
                    first = None
                    await self._show(incident_id, claimed)
                except Exception:  # a bug in showing must not fail the change, which has committed
                    log.exception("showing a change failed", extra={"incident_id": incident_id})
                finally:
                    this.set_result(None)
                if not showing.again:
                    return
        finally:
            del self._showings[incident_id]
            if not showing.upcoming.done():
                showing.upcoming.set_result(None)

    async def _read(
        self,
        repo: Repository,
        row: Incident | None,
        *,
        state_changed: bool,
        snap: IncidentSnapshot | None = None,
    ) -> _Batch | None:
        """Claims the incident's lines not yet told and reads what showing them needs (`snap`: the state,
        already read in this transaction)."""
        if row is None or row.id is None or not row.channel_id:
            return None
        lines = [(entry_of(e), e["data"]) for e in await repo.claim_lines(incident_id=row.id)]
        card_due = row.card_ts is not None and row.card_revision < row.revision
        checklist_lines = any(entry.kind == EventKind.CHECKLIST for entry, _ in lines)
        state_changed = state_changed or card_due or row.card_ts is None
        # Lines alone (notes, pinned messages) need only the incident's row; the card, checklist and
        # reminders need everything but the timeline.
        whole = state_changed or checklist_lines
        if snap is None:
            snap = await snapshot_of(repo, row, timeline=False) if whole else bare_snapshot(row)
        return _Batch(
            snap,
            [entry for entry, _ in lines],
            [data for _, data in lines],
            card_due=card_due,
            state_changed=state_changed,
            whole=whole,
        )

    async def _show(self, incident_id: int, first: _Batch | None) -> None:
        """Shows the incident's pending changes: `first` when a change's transaction claimed them, then what
        committed meanwhile elsewhere."""
        shown: IncidentSnapshot | None = None
        state_changed = False  # reminders follow the state, not lines: a showing of notes leaves them be
        for _ in range(1 + CATCH_UP_PASSES):
            batch = first
            if batch is None:
                async with self._store.transaction() as repo:
                    row = await repo.incident(incident_id=incident_id)
                    batch = await self._read(repo, row, state_changed=state_changed)
            first = None
            if batch is None:
                return
            state_changed = batch.state_changed
            snap = batch.snap
            await self._show_one(snap, batch.lines, batch.data, batch.card_due, shown)
            if not batch.whole:
                return  # no state shown, so none that an overtaking change could have left stale
            shown = snap
            # Changes made at the same time elsewhere (another replica) each show their own state, and the one
            # that lands last in Slack may be the older: look again until nothing newer has committed.
            stored = await self._store.revision(incident_id=incident_id)
            if stored is None or stored == snap.revision:
                break
        if shown is not None and state_changed:
            await self._sync_reminders(incident_id, shown)

    async def _show_one(
        self,
        snap: IncidentSnapshot,
        lines: Sequence[TimelineEntry],
        data: Sequence[dict[str, Any]],
        card_due: bool,
        shown: IncidentSnapshot | None,
    ) -> None:
        work: list[Awaitable[Any]] = []
        if lines:
            work.append(self._chat.post_changes(incident=snap, changes=lines))
        card = self._update_card(snap) if card_due else None
        if card is not None:
            work.append(card)
        checklist_lines = [
            d for entry, d in zip(lines, data, strict=True) if entry.kind == EventKind.CHECKLIST
        ]
        started = any("key" not in d for d in checklist_lines)  # a playbook started: its own new message
        if snap.checklists and (started or (checklist_lines and not snap.checklist_ts)):
            work.append(self._post_checklist(snap))
        elif snap.checklist_ts and (
            checklist_lines or (shown is not None and shown.checklists != snap.checklists)
        ):
            work.append(self._chat.update_checklist(incident=snap))
        for outcome in await asyncio.gather(*work, return_exceptions=True):
            if isinstance(outcome, ChatError):
                log.warning("Slack update failed: %s", outcome, extra={"incident_id": snap.id})
            elif isinstance(outcome, BaseException):
                raise outcome

    async def _update_card(self, snap: IncidentSnapshot) -> None:
        await self._chat.update_card(incident=snap)
        async with self._store.transaction() as repo:
            await repo.show_card_revision(incident_id=snap.id, revision=snap.revision)

    async def _post_checklist(self, snap: IncidentSnapshot) -> None:
        """Posts the checklists as a message and remembers it, so ticks update it in place."""
        ts = await self._chat.post_checklist(incident=snap)
        async with self._store.transaction() as repo:
            row = await repo.incident(incident_id=snap.id)
            if row is not None:
                row.checklist_ts = ts
                repo.session.add(row)
