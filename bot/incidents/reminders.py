"""Which reminders an incident should have waiting in Slack's scheduler: a pure function of its state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.incidents.model import EventKind, IncidentSnapshot

# Slack refuses post_at in the past and more than 120 days ahead; keep a margin on both sides.
MIN_LEAD = timedelta(seconds=30)
MAX_AHEAD = timedelta(days=119)
# An update still missing this long after it was due goes to the comms role (escalation).
ESCALATE_AFTER = 0.5
STATUS_UPDATE_KINDS = frozenset(
    {EventKind.DECLARED.value, EventKind.STATUS.value, EventKind.SEVERITY.value, EventKind.REOPENED.value}
)


class ReminderKind(StrEnum):
    """Why a reminder exists."""

    STATUS_UPDATE = "status_update"
    STATUS_OVERDUE = "status_overdue"
    ITEM_DUE = "item_due"


@dataclass(frozen=True)
class Reminder:
    """One message that should be waiting in Slack's scheduler."""

    reason: str  # unique per incident: "status-update", "status-overdue", "item:<playbook>/<key>"
    kind: ReminderKind
    post_at: datetime
    mention: str | None
    title: str = ""


def last_status_update(incident: IncidentSnapshot) -> datetime | None:
    """When someone last told the channel where things stand (declared, status, severity, reopened)."""
    return incident.status_updated_at or incident.milestones.declared_at


def desired_reminders(
    incident: IncidentSnapshot, *, cadence: Mapping[str, int], now: datetime
) -> dict[str, Reminder]:
    """The reminders an open incident should have: next status update, its escalation, items due."""
    if not incident.status.is_open or not incident.channel_id:
        return {}
    roles = dict(incident.roles)
    lead = incident.lead or incident.declared_by
    wanted: list[Reminder] = []
    minutes = cadence.get(incident.severity)
    base = last_status_update(incident)
    if minutes and base is not None:
        due = base + timedelta(minutes=minutes)
        wanted.append(Reminder("status-update", ReminderKind.STATUS_UPDATE, due, lead))
        overdue = due + timedelta(minutes=minutes * ESCALATE_AFTER)
        wanted.append(
            Reminder("status-overdue", ReminderKind.STATUS_OVERDUE, overdue, roles.get("comms") or lead)
        )
    for item in incident.checklists:
        if item.done or item.due_at is None:
            continue
        owner = roles.get(item.owner_role) if item.owner_role else None
        reason = f"item:{item.playbook}/{item.key}"[:200]
        wanted.append(Reminder(reason, ReminderKind.ITEM_DUE, item.due_at, owner or lead, item.title))
    return {r.reason: r for r in wanted if now + MIN_LEAD <= r.post_at <= now + MAX_AHEAD}
