"""Which reminders an incident should have waiting in Slack's scheduler: a pure function of its state."""

from __future__ import annotations

import hashlib
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

    # Unique per incident, and naming what the message says (who it pings, which items), so a change that
    # leaves a reminder's time and words alone leaves it in Slack's scheduler: "status-update:<user>",
    # "status-overdue:<user>", "items-due:<hash of the items>".
    reason: str
    kind: ReminderKind
    post_at: datetime
    mentions: tuple[str, ...]
    titles: tuple[str, ...] = ()


# Slack's scheduler refuses a 31st message due within the same 5 minutes in one channel; an incident keeps at
# most these many waiting at any time: the next status update, its escalation, the checklist items due next.
MAX_WAITING = 3
# Items due within this long of the first one due are named in the same reminder.
ITEMS_TOGETHER = timedelta(minutes=1)


def last_status_update(incident: IncidentSnapshot) -> datetime | None:
    """When someone last told the channel where things stand (declared, status, severity, reopened)."""
    return incident.status_updated_at or incident.milestones.declared_at


def desired_reminders(
    incident: IncidentSnapshot, *, cadence: Mapping[str, int], now: datetime
) -> dict[str, Reminder]:
    """The reminders an open incident should have waiting (at most MAX_WAITING): the next status update, its
    escalation, and one message naming the checklist items due next."""
    if not incident.status.is_open or not incident.channel_id:
        return {}
    roles = dict(incident.roles)
    lead = incident.lead or incident.declared_by
    earliest, latest = now + MIN_LEAD, now + MAX_AHEAD
    wanted: list[Reminder] = []
    minutes = cadence.get(incident.severity)
    base = last_status_update(incident)
    if minutes and base is not None:
        due = base + timedelta(minutes=minutes)
        overdue = due + timedelta(minutes=minutes * ESCALATE_AFTER)
        comms = roles.get("comms") or lead
        wanted.append(Reminder(f"status-update:{lead or ''}", ReminderKind.STATUS_UPDATE, due, _who(lead)))
        wanted.append(
            Reminder(f"status-overdue:{comms or ''}", ReminderKind.STATUS_OVERDUE, overdue, _who(comms))
        )
    upcoming = sorted(
        (item for item in incident.checklists if not item.done and item.due_at and earliest <= item.due_at),
        key=lambda item: item.due_at or now,
    )
    if upcoming and upcoming[0].due_at is not None:
        first = upcoming[0].due_at
        together = [
            item for item in upcoming if item.due_at is not None and item.due_at - first < ITEMS_TOGETHER
        ]
        owners = [(roles.get(item.owner_role) if item.owner_role else None) or lead for item in together]
        names = sorted(f"{item.playbook}/{item.key}" for item in together)
        digest = hashlib.blake2s("\n".join(names).encode(), digest_size=6).hexdigest()
        wanted.append(
            Reminder(
                f"items-due:{digest}",
                ReminderKind.ITEM_DUE,
                first,
                tuple(dict.fromkeys(o for o in owners if o)),
                tuple(item.title for item in together),
            )
        )
    return {r.reason: r for r in wanted if earliest <= r.post_at <= latest}


def _who(user: str | None) -> tuple[str, ...]:
    return (user,) if user else ()
