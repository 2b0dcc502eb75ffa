"""Roles and the people in an incident (who joined, who left)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    and_,
    exists,
    literal,
    or_,
    select,
)
from sqlmodel import col

from storage.models import (
    Participant,
    RoleAssignment,
)
from storage.statements import (
    Rows,
    insert_new,
)


class PeopleRows(Rows):
    """Roles and the people in an incident (who joined, who left)."""

    # Roles and people

    async def set_role(self, *, incident_id: int, role: str, user_id: str, at: datetime) -> None:
        """Gives a role to a user, replacing whoever held it."""
        stmt = (
            self._insert(RoleAssignment)
            .values(incident_id=incident_id, role=role, user_id=user_id, assigned_at=at)
            .on_conflict_do_update(
                index_elements=["incident_id", "role"], set_={"user_id": user_id, "assigned_at": at}
            )
        )
        await self.session.execute(stmt)

    async def add_participant(self, *, incident_id: int, user_id: str, at: datetime) -> bool:
        """Records a participant once; False when already recorded."""
        values = {"incident_id": incident_id, "user_id": user_id, "joined_at": at}
        stmt = insert_new(self._dialect, Participant, ("incident_id", "user_id"), "user_id")
        return (await self._run(stmt, values)).scalar_one_or_none() is not None

    async def is_in(self, *, incident_id: int, user_id: str, named: bool) -> bool:
        """Whether the user is in the incident: `named` on its row (declarer, lead), a participant or a role
        holder, and has not left its channel (one query)."""
        here = col(Participant.incident_id) == incident_id, col(Participant.user_id) == user_id
        held = col(RoleAssignment.incident_id) == incident_id, col(RoleAssignment.user_id) == user_id
        stmt = select(
            and_(
                or_(literal(named), exists().where(*here), exists().where(*held)),
                ~exists().where(*here, col(Participant.left_at).is_not(None)),
            )
        )
        return bool((await self.session.execute(stmt)).scalar())

    async def join(self, *, incident_id: int, user_id: str, at: datetime) -> bool:
        """Records someone who joined the incident's channel (again: they are back); False when they were
        recorded and in it already."""
        stmt = (
            self._insert(Participant)
            .values(incident_id=incident_id, user_id=user_id, joined_at=at)
            .on_conflict_do_update(
                index_elements=["incident_id", "user_id"],
                set_={"left_at": None},
                where=col(Participant.left_at).is_not(None),
            )
            .returning(col(Participant.user_id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def leave(self, *, incident_id: int, user_id: str, at: datetime) -> bool:
        """Records someone who left the incident's channel; False when that was known already."""
        stmt = (
            self._insert(Participant)
            .values(incident_id=incident_id, user_id=user_id, joined_at=at, left_at=at)
            .on_conflict_do_update(
                index_elements=["incident_id", "user_id"],
                set_={"left_at": at},
                where=col(Participant.left_at).is_(None),
            )
            .returning(col(Participant.user_id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def participants(self, *, incident_id: int) -> list[Participant]:
        """Everyone recorded on the incident, in order of joining."""
        stmt = select(Participant).where(col(Participant.incident_id) == incident_id)
        return list((await self.session.execute(stmt.order_by(col(Participant.joined_at)))).scalars())
