"""Follow-ups and their tickets, the status page, checklists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    or_,
    select,
    update,
)
from sqlmodel import col

from storage.models import (
    ChecklistItem,
    Followup,
    Incident,
    StatuspageIncident,
)
from storage.statements import (
    RUNNING_PLAYBOOKS,
    NewChecklistItem,
    Rows,
    insert_new,
    ticket_free,
)


class WorkRows(Rows):
    """Follow-ups and their tickets, the status page, checklists."""

    # Follow-ups and checklists

    async def add_followup(self, *, followup: Followup) -> Followup:
        """Stores a follow-up action item."""
        self.session.add(followup)
        await self.session.flush()
        return followup

    async def followup(self, *, followup_id: int) -> Followup | None:
        """One follow-up by its id."""
        return await self.session.get(Followup, followup_id)

    async def claim_ticket(
        self, *, followup_id: int, at: datetime, stale_before: datetime, owner: str | None
    ) -> bool:
        """Takes the filing of a follow-up's ticket for `owner` unless it is filed already or someone else
        claimed it after `stale_before` (one filer at a time: the ticket is never filed twice at once)."""
        stmt = (
            update(Followup)
            .where(
                col(Followup.id) == followup_id,
                col(Followup.ticket_state) == "pending",
                ticket_free(stale_before),
            )
            .values(ticket_claimed_at=at, ticket_claimed_by=owner)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def tickets_to_file(self, *, stale_before: datetime) -> list[int]:
        """Follow-ups whose ticket is not filed and nobody is filing (a failure, a crash), oldest first."""
        stmt = (
            select(col(Followup.id))
            .where(
                col(Followup.ticket_state) == "pending",
                ticket_free(stale_before),
            )
            .order_by(col(Followup.id))
        )
        return [int(row[0] or 0) for row in (await self.session.execute(stmt)).all()]

    async def followup_by_ticket(self, *, tracker: str, key: str) -> Followup | None:
        """The follow-up whose ticket that is."""
        stmt = select(Followup).where(col(Followup.tracker) == tracker, col(Followup.ticket_key) == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def open_tickets(self, *, tracker: str) -> list[Followup]:
        """Follow-ups whose ticket in `tracker` is open, oldest first."""
        stmt = (
            select(Followup)
            .where(col(Followup.tracker) == tracker, col(Followup.ticket_state) == "open")
            .order_by(col(Followup.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def all_followups(self, *, open_only: bool) -> list[tuple[Followup, Incident]]:
        """Every follow-up with its incident (only those not done: `open_only`), oldest first."""
        stmt = select(Followup, Incident).join(Incident, col(Incident.id) == col(Followup.incident_id))
        if open_only:
            stmt = stmt.where(col(Followup.done).is_(False))
        stmt = stmt.order_by(col(Followup.created_at), col(Followup.id))
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]

    # The status page

    async def statuspage(self, *, incident_id: int, for_update: bool = False) -> StatuspageIncident | None:
        """The Statuspage incident an incident published, if any."""
        return await self.session.get(StatuspageIncident, incident_id, with_for_update=for_update)

    async def add_statuspage(self, *, page: StatuspageIncident) -> bool:
        """Records a Statuspage incident to open; False when the incident has one already."""
        values = page.model_dump()
        stmt = insert_new(self._dialect, StatuspageIncident, ("incident_id",), "incident_id")
        return (await self._run(stmt, values)).scalar_one_or_none() is not None

    async def claim_statuspage(
        self, *, incident_id: int, at: datetime, stale_before: datetime, owner: str | None
    ) -> bool:
        """Takes the sending of an incident's Statuspage incident (its opening, or an update asked for) unless
        nothing waits to be sent or someone else claimed it after `stale_before`."""
        stmt = (
            update(StatuspageIncident)
            .where(
                col(StatuspageIncident.incident_id) == incident_id,
                col(StatuspageIncident.sent) < col(StatuspageIncident.asked),
                or_(
                    col(StatuspageIncident.claimed_at).is_(None),
                    col(StatuspageIncident.claimed_at) < stale_before,
                ),
            )
            .values(claimed_at=at, claimed_by=owner)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def statuspages_to_send(self, *, stale_before: datetime) -> list[int]:
        """Incidents whose Statuspage incident has an opening or update not sent, and nobody is sending it."""
        stmt = (
            select(col(StatuspageIncident.incident_id))
            .where(
                col(StatuspageIncident.sent) < col(StatuspageIncident.asked),
                or_(
                    col(StatuspageIncident.claimed_at).is_(None),
                    col(StatuspageIncident.claimed_at) < stale_before,
                ),
            )
            .order_by(col(StatuspageIncident.incident_id))
        )
        return [int(row[0]) for row in (await self.session.execute(stmt)).all()]

    async def add_checklist_items(self, *, incident_id: int, items: Sequence[NewChecklistItem]) -> int:
        """Adds checklist items, skipping ones already there; returns how many were new (one statement)."""
        if not items:
            return 0
        stmt = insert_new(self._dialect, ChecklistItem, ("incident_id", "playbook", "key"), "id")
        rows = [{"incident_id": incident_id, **item._asdict(), "done": False} for item in items]
        return len((await self._run(stmt, rows)).all())

    async def running_playbooks(self, *, incident_id: int) -> set[str]:
        """The playbooks whose checklists run on the incident."""
        return {
            str(name) for name in (await self._run(RUNNING_PLAYBOOKS, {"incident": incident_id})).scalars()
        }

    async def checklist_items(self, *, incident_id: int) -> list[ChecklistItem]:
        """The incident's checklist items, by playbook then position."""
        stmt = (
            select(ChecklistItem)
            .where(col(ChecklistItem.incident_id) == incident_id)
            .order_by(col(ChecklistItem.playbook), col(ChecklistItem.position))
        )
        return list((await self.session.execute(stmt)).scalars())
