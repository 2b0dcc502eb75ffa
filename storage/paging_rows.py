"""Alert groups and pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    or_,
    select,
    update,
)
from sqlmodel import col

from storage.models import (
    AlertGroup,
    Page,
)
from storage.statements import (
    Rows,
    insert_new,
)


class PagingRows(Rows):
    """Alert groups and pages."""

    # Alert groups and pages

    async def alert_group(
        self, *, source: str, group_hash: str, for_update: bool = False
    ) -> AlertGroup | None:
        """The incident link of an alert group, if it opened one."""
        stmt = select(AlertGroup).where(
            col(AlertGroup.source) == source, col(AlertGroup.group_hash) == group_hash
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def link_alert_group(
        self, *, source: str, group_hash: str, group_key: str, incident_id: int, at: datetime
    ) -> bool:
        """Links an alert group to the incident it opened; False when the group is linked already (the
        caller checks whether that incident is still open and relinks with `relink_alert_group`)."""
        stmt = (
            self._insert(AlertGroup)
            .values(
                source=source,
                group_hash=group_hash,
                group_key=group_key,
                incident_id=incident_id,
                updated_at=at,
            )
            .on_conflict_do_nothing(index_elements=["source", "group_hash"])
            .returning(col(AlertGroup.incident_id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def relink_alert_group(
        self, *, source: str, group_hash: str, from_incident: int, to_incident: int, at: datetime
    ) -> bool:
        """Moves a group's link from a finished incident to a new one, unless someone moved it first."""
        stmt = (
            update(AlertGroup)
            .where(
                col(AlertGroup.source) == source,
                col(AlertGroup.group_hash) == group_hash,
                col(AlertGroup.incident_id) == from_incident,
            )
            .values(incident_id=to_incident, updated_at=at)
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def add_page(self, *, page: Page) -> bool:
        """Records a page to send; False when the same request recorded it already."""
        stmt = insert_new(self._dialect, Page, ("incident_id", "request_key"), "id")
        values = page.model_dump(exclude={"id"})
        return (await self.session.execute(stmt, [values])).first() is not None

    async def pages(self, *, incident_id: int) -> list[Page]:
        """The incident's pages, oldest first."""
        stmt = select(Page).where(col(Page.incident_id) == incident_id).order_by(col(Page.id))
        return list((await self.session.execute(stmt)).scalars())

    async def pages_due(self, *, at: datetime, incident_id: int | None = None) -> list[Page]:
        """Pages not sent yet whose next attempt is due (of one incident, or all), oldest first."""
        stmt = select(Page).where(
            col(Page.status) == "pending",
            or_(col(Page.next_attempt_at).is_(None), col(Page.next_attempt_at) <= at),
        )
        if incident_id is not None:
            stmt = stmt.where(col(Page.incident_id) == incident_id)
        return list((await self.session.execute(stmt.order_by(col(Page.id)))).scalars())

    async def claim_page(self, *, page_id: int, at: datetime, until: datetime) -> bool:
        """Takes a due page to send now (its next attempt moves to `until`, so no one else sends it
        meanwhile); False when another sender took it or it was sent."""
        stmt = (
            update(Page)
            .where(
                col(Page.id) == page_id,
                col(Page.status) == "pending",
                or_(col(Page.next_attempt_at).is_(None), col(Page.next_attempt_at) <= at),
            )
            .values(next_attempt_at=until, attempts=col(Page.attempts) + 1)
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def finish_page(
        self, *, page_id: int, status: str, at: datetime, error: str = "", retry_at: datetime | None = None
    ) -> None:
        """Records how sending a page went: sent, failed for good, or pending again at `retry_at`."""
        values: dict[str, Any] = {"status": status, "error": error[:500], "next_attempt_at": retry_at}
        if status == "sent":
            values["sent_at"] = at
        await self.session.execute(update(Page).where(col(Page.id) == page_id).values(**values))
