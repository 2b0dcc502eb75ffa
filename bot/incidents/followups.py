"""Follow-ups and their tickets: recorded first, filed in the team's tracker (GitHub Issues or Jira) after
the commit, and done when the ticket is closed.

Recording a follow-up commits the row with its ticket `pending`. Filing then claims it (storage: one filer
at a time; a claim older than the set-up lease may be taken over), calls the tracker, and records the key and
address with a line in the incident's channel. A failed call leaves the follow-up pending with the reason, and
the repair pass files it later, so a follow-up is never lost for a tracker that is down. A claim is released
only by a clear refusal or by recording the ticket, so two replicas never file one follow-up at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.i18n import DEFAULT_LANG, Lang, Msg, t
from bot.incidents.core import ChangeEffects, Core, Part, clean
from bot.incidents.errors import InvalidInput
from bot.incidents.model import EventKind, IncidentSnapshot
from bot.incidents.outside import OutsideError, Ticket, TicketDraft, Tracker
from storage.models import Followup, Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

TITLE_LIMIT = 200  # characters of a follow-up's text in its ticket's title (GitHub takes 256, Jira 255)


@dataclass(frozen=True)
class FollowupRecorded:
    """A recorded follow-up: the incident as it is now, and the ticket, when it was filed at once."""

    incident: IncidentSnapshot
    followup_id: int
    ticket: Ticket | None
    tracker: str | None


class Followups(Part):
    """Follow-ups, their tickets and their closing."""

    def __init__(
        self,
        core: Core,
        *,
        tracker: Tracker | None = None,
        private_details: bool = False,
        lang: Lang = DEFAULT_LANG,
    ) -> None:
        super().__init__(core)
        self.tracker = tracker
        self.private_details = private_details
        self.lang = lang

    async def add_followup(
        self, *, incident_id: int, text: str, actor: str, owner: str | None = None
    ) -> FollowupRecorded:
        """Records a follow-up action item, then files its ticket when a tracker is configured."""
        if not text.strip():
            raise InvalidInput(Msg("errors.followup_missing"))
        now = self._clock.now()
        added: list[int] = []

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            assert row.id is not None
            followup = await repo.add_followup(
                followup=Followup(
                    incident_id=row.id,
                    text=clean(text).strip(),
                    owner=owner,
                    created_by=actor,
                    created_at=now,
                    tracker=self.tracker.name if self.tracker else "",
                    ticket_state="pending" if self.tracker else "",
                )
            )
            assert followup.id is not None
            added.append(followup.id)
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

        snap = await self._change(incident_id, change, actor=actor)
        ticket = await self.file_ticket(followup_id=added[-1]) if self.tracker else None
        return FollowupRecorded(
            incident=snap,
            followup_id=added[-1],
            ticket=ticket,
            tracker=self.tracker.name if self.tracker else None,
        )

    async def file_ticket(self, *, followup_id: int) -> Ticket | None:
        """Files the follow-up's ticket unless it is filed or someone else is filing it; None when it is not
        filed now (the reason is recorded, and the repair pass tries again)."""
        if self.tracker is None:
            return None
        now = self._clock.now()
        async with self._store.transaction() as repo:
            claimed = await repo.claim_ticket(
                followup_id=followup_id,
                at=now,
                stale_before=now - self.config.setup_lease,
                owner=self.config.replica,
            )
            followup = await repo.followup(followup_id=followup_id) if claimed else None
            row = await repo.incident(incident_id=followup.incident_id) if followup else None
            if followup is None or row is None:
                return None
            draft = self.draft(followup, row)
        try:
            ticket = await self.tracker.file_ticket(draft=draft)
        except OutsideError as exc:
            log.warning("filing the ticket of follow-up %s failed: %s", followup_id, exc)
            async with self._store.transaction() as repo:
                failed = await repo.followup(followup_id=followup_id)
                if failed is not None:
                    failed.ticket_error = exc.reason[:500]
                    if not exc.unknown:  # refused or unreachable: nothing was filed, anyone may try again
                        failed.ticket_claimed_at = None
                        failed.ticket_claimed_by = None
                    repo.session.add(failed)
            return None
        fx = ChangeEffects()
        async with self._store.transaction() as repo:
            filed = await repo.followup(followup_id=followup_id)
            row = await repo.incident(incident_id=filed.incident_id) if filed else None
            if filed is None or row is None:
                return ticket
            filed.ticket_state, filed.ticket_key, filed.ticket_url = "open", ticket.key, ticket.url
            filed.ticket_error, filed.ticket_claimed_at, filed.ticket_claimed_by = "", None, None
            repo.session.add(filed)
            await self._event(
                repo,
                row,
                at=self._clock.now(),
                kind=EventKind.FOLLOWUP,
                actor=None,
                text=Msg("timeline.followup_ticket", key=ticket.key, url=ticket.url, text=filed.text),
                data={"followup": followup_id, "ticket": ticket.key, "url": ticket.url},
                fx=fx,
            )
            channel = row.channel_id
        if fx.lines and channel:
            await self.effects.show(filed.incident_id)
        return ticket

    async def file_pending_tickets(self) -> int:
        """Files the tickets a failure or a crash left unfiled; returns how many were filed."""
        if self.tracker is None:
            return 0
        now = self._clock.now()
        async with self._store.transaction() as repo:
            waiting = await repo.tickets_to_file(stale_before=now - self.config.setup_lease)
        filed = 0
        for followup_id in waiting:
            if await self.file_ticket(followup_id=followup_id) is not None:
                filed += 1
        return filed

    async def ticket_closed(self, *, tracker: str, key: str) -> bool:
        """Marks done the follow-up whose ticket was closed (once); False when no follow-up has that ticket,
        or it is done already."""
        now = self._clock.now()
        fx = ChangeEffects()
        async with self._write() as repo:
            followup = await repo.followup_by_ticket(tracker=tracker, key=key)
            if followup is None or followup.ticket_state == "closed":
                return False
            row = await self._get(repo, followup.incident_id, for_update=True)
            followup.ticket_state = "closed"
            if not followup.done:
                followup.done, followup.done_at = True, now
            repo.session.add(followup)
            await self._event(
                repo,
                row,
                at=now,
                kind=EventKind.FOLLOWUP,
                actor=None,
                text=Msg("timeline.followup_done", key=key, text=followup.text),
                data={"followup": followup.id, "ticket": key, "closed": True},
                fx=fx,
            )
            channel = row.channel_id
        if fx.lines and channel:
            await self.effects.show(followup.incident_id)
        return True

    async def sync_tickets(self) -> tuple[int, int]:
        """Asks the tracker about every open ticket and marks done the follow-ups whose ticket is closed.
        Returns (tickets checked, follow-ups marked done); raises OutsideError, after the others, naming the
        tickets the tracker could not tell about."""
        if self.tracker is None:
            return 0, 0
        async with self._store.transaction() as repo:
            keys = [f.ticket_key for f in await repo.open_tickets(tracker=self.tracker.name) if f.ticket_key]
        done, failed = 0, []
        for key in keys:
            try:  # one ticket the tracker cannot tell about does not stop the others
                closed = await self.tracker.is_closed(key=key)
            except OutsideError as exc:
                failed.append(f"{key}: {exc.reason}")
                continue
            if closed and await self.ticket_closed(tracker=self.tracker.name, key=key):
                done += 1
        if failed:
            raise OutsideError(
                self.tracker.name, f"{len(failed)} ticket(s) not checked ({'; '.join(failed[:3])})"
            )
        return len(keys), done

    def draft(self, followup: Followup, row: Incident) -> TicketDraft:
        """What the ticket of a follow-up says: for a private incident only that it exists, unless the team
        allows its details in tickets (`[integrations] private_details = true`)."""
        reference = t("tickets.reference", self.lang, followup=followup.id, id=row.id)
        if row.private and not self.private_details:
            return TicketDraft(
                title=t("tickets.private_title", self.lang, followup=followup.id),
                paragraphs=(t("tickets.private_body", self.lang),),
                reference=reference,
            )
        line = " ".join(followup.text.split())
        title = line if len(line) <= TITLE_LIMIT else line[: TITLE_LIMIT - 1] + "…"
        paragraphs = [
            followup.text,
            t("tickets.from_incident", self.lang, id=row.id, title=row.title, severity=row.severity),
        ]
        if followup.owner:
            paragraphs.append(t("tickets.owner", self.lang, owner=followup.owner))
        return TicketDraft(title=title, paragraphs=tuple(paragraphs), reference=reference)
