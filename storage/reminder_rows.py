"""Reminders waiting in Slack's scheduler."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    func,
    select,
)
from sqlmodel import col

from readmodel import OPEN_STATUSES
from storage.models import (
    Incident,
    ScheduledReminder,
)
from storage.statements import (
    DROP_REMINDER,
    REMINDERS,
    SET_REMINDER_MESSAGE,
    Rows,
)


class ReminderRows(Rows):
    """Reminders waiting in Slack's scheduler."""

    # Reminders

    async def reminders(self, *, incident_id: int) -> list[Row[Any]]:
        """Reminders waiting in Slack's scheduler for the incident (plain rows, named as the columns)."""
        return list(await self._run(REMINDERS, {"incident": incident_id}))

    async def incidents_with_reminders_before(self, *, at: datetime) -> list[int]:
        """Open incidents with a reminder due before `at` (Slack has posted it: what comes next is due)."""
        stmt = (
            select(col(ScheduledReminder.incident_id))
            .join(Incident, col(Incident.id) == col(ScheduledReminder.incident_id))
            .where(col(ScheduledReminder.post_at) < at, col(Incident.status).in_(OPEN_STATUSES))
            .distinct()
            .order_by(col(ScheduledReminder.incident_id))
        )
        return [int(row[0]) for row in (await self.session.execute(stmt)).all()]

    async def incidents_with_unrecorded_reminders(self) -> list[int]:
        """Incidents with a reminder whose Slack id was never recorded (a crash while Slack scheduled it)."""
        stmt = (
            select(col(ScheduledReminder.incident_id))
            .where(col(ScheduledReminder.scheduled_message_id).is_(None))
            .distinct()
            .order_by(col(ScheduledReminder.incident_id))
        )
        return [int(row[0]) for row in (await self.session.execute(stmt)).all()]

    async def claim_reminders(
        self, *, incident_id: int, channel_id: str, slots: Sequence[tuple[str, datetime]]
    ) -> dict[str, int]:
        """Claims the slots of reminders, (reason, post_at) each, in one statement; returns the claimed ones'
        ids by reason (a slot already there, another replica's or a retry's, is not among them)."""
        if not slots:
            return {}
        values = [
            {"incident_id": incident_id, "reason": reason, "channel_id": channel_id, "post_at": post_at}
            for reason, post_at in slots
        ]
        stmt = (
            self._insert(ScheduledReminder)
            .on_conflict_do_nothing(index_elements=["incident_id", "reason"])
            .returning(col(ScheduledReminder.id), col(ScheduledReminder.reason))
        )
        return {str(reason): int(claim) for claim, reason in await self._run(stmt, values)}

    async def set_reminder_messages(self, messages: Mapping[int, str]) -> list[str]:
        """Records the ids Slack's scheduler gave claimed reminders (reminder id → scheduled message id);
        returns the message ids whose claim is gone (a later change, maybe at another replica, dropped it
        meanwhile). One statement built once per reminder: cheaper than one built for the lot."""
        gone: list[str] = []
        for claim, message in messages.items():
            values = {"reminder": claim, "message": message}
            if not (await self._run(SET_REMINDER_MESSAGE, values)).rowcount:
                gone.append(message)
        return gone

    async def drop_reminder(self, *, reminder_id: int) -> tuple[str, str | None] | None:
        """Removes a reminder row; returns (channel, scheduled message id) to the one who removed it."""
        row = (await self._run(DROP_REMINDER, {"reminder": reminder_id})).one_or_none()
        return (row[0], row[1]) if row else None

    async def open_counts(self) -> tuple[dict[str, int], int]:
        """Open incidents by severity, and how many reminders wait in Slack's scheduler."""
        stmt = (
            select(col(Incident.severity), func.count())
            .where(col(Incident.status).in_(OPEN_STATUSES))
            .group_by(col(Incident.severity))
        )
        by_severity = {str(row[0]): int(row[1]) for row in (await self.session.execute(stmt)).all()}
        reminders = (
            await self.session.execute(select(func.count()).select_from(ScheduledReminder))
        ).scalar_one()
        return by_severity, int(reminders)
