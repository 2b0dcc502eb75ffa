"""The tables Hashi stores: incidents, their timelines, roles, participants, checklists and follow-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.db import UTCDateTime


# One row per incident; every lifecycle milestone is a UTC column (DESIGN.md).
class Incident(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("request_key", name="uq_incident_request_key"),
        UniqueConstraint("channel_id", name="uq_incident_channel_id"),
        Index("ix_incident_status", "status"),
        Index("ix_incident_declared_at", "declared_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    summary: str = Field(default="")
    severity: str = Field(max_length=32)
    status: str = Field(max_length=32)
    private: bool = Field(default=False)
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # One of the team's configured types (hashi.toml `types`); incidents stored before migration 0010 are
    # of type "default".
    incident_type: str = Field(
        default="default", max_length=64, sa_column_kwargs={"server_default": "default"}
    )
    # The team's custom fields (hashi.toml `[fields.<name>]`) that have a value: name → text, number, the
    # chosen choice, or a Slack user id.
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    lead: str | None = Field(default=None, max_length=64)
    declared_by: str | None = Field(default=None, max_length=64)
    team_id: str | None = Field(default=None, max_length=64)
    # Idempotency key of the request that declared it (a retried delivery finds the same row).
    request_key: str | None = Field(default=None, max_length=255)
    channel_id: str | None = Field(default=None, max_length=64)
    channel_name: str | None = Field(default=None, max_length=80)
    card_ts: str | None = Field(default=None, max_length=32)
    card_pinned: bool = Field(default=False)
    # The checklist message in the channel, updated in place as items are ticked.
    checklist_ts: str | None = Field(default=None, max_length=32)
    topic_set: bool = Field(default=False)
    announce_ts: str | None = Field(default=None, max_length=32)
    # What the last attempt to set up the Slack side could not do; empty when the room is complete.
    setup_error: str = Field(default="")
    # A lease on the Slack set-up: whoever set it (a replica, a retry) works alone until it expires.
    setup_claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Which replica holds that lease (HASHI_REPLICA_ID): a restarted replica takes its own back at once.
    setup_claimed_by: str | None = Field(default=None, max_length=255)
    impact_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    detected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    declared_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    mitigated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    impact_ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # Counts the changes made to the incident (Repository.count_change), so a change that showed its state in
    # Slack can tell whether another one committed since and its state needs showing instead.
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The revision the pinned card was last updated to: below `revision`, the card has a change to show.
    card_revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# One row per timeline event. An event that came from Slack carries its message ts as source_ref,
# unique per incident so a retried or doubled delivery stores it once.
class TimelineEvent(SQLModel, table=True):
    __tablename__ = "timeline_event"
    __table_args__ = (
        UniqueConstraint("incident_id", "source_ref", name="uq_timeline_event_source"),
        Index("ix_timeline_event_incident_at", "incident_id", "at"),
        # Stats read the declaration and severity events of many incidents at once.
        Index("ix_timeline_event_kind", "kind", "incident_id"),
        Index("ix_timeline_event_lines", "incident_id", "line_posted"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=64)
    text: str = Field(default="")
    source_ref: str | None = Field(default=None, max_length=128)
    permalink: str | None = Field(default=None, max_length=500)
    deleted: bool = Field(default=False)
    # A change the channel is told of in a line: False until a line has been posted (or claimed) for it;
    # None for events that are not told (declarations, Slack messages, events from before migration 0007).
    line_posted: bool | None = Field(default=None)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A person's correction (`/incident timeline` → Edit, or an edited pinned message): who made the last one
    # and when; `previous` keeps every earlier version, oldest first, as {at, text, edited_at, edited_by}
    # (the edit that made that version; null for the first), so nothing said is lost.
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    edited_by: str | None = Field(default=None, max_length=64)
    previous: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


# Who holds which role (lead is also mirrored on the incident row for fast lists).
class RoleAssignment(SQLModel, table=True):
    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("incident_id", "role", name="uq_role_assignment_role"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE")
    role: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    assigned_at: datetime = Field(sa_type=UTCDateTime)


# Everyone who joined the incident channel or acted on the incident.
class Participant(SQLModel, table=True):
    __tablename__ = "participant"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    user_id: str = Field(primary_key=True, max_length=64)
    joined_at: datetime = Field(sa_type=UTCDateTime)
    # When they left the incident's channel (None: still in it); a private incident is hidden from them then.
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# One checklist item of a playbook running on an incident.
class ChecklistItem(SQLModel, table=True):
    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("incident_id", "playbook", "key", name="uq_checklist_item_key"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE")
    playbook: str = Field(max_length=100)
    key: str = Field(max_length=100)
    position: int = Field(default=0)
    title: str = Field(max_length=300)
    details: str = Field(default="")
    owner_role: str | None = Field(default=None, max_length=64)
    required: bool = Field(default=False)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done: bool = Field(default=False)
    done_by: str | None = Field(default=None, max_length=64)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# A follow-up action item recorded during or after the incident, and its ticket in the team's tracker.
# The row is written first (ticket_state "pending"); the ticket is filed after the commit by whoever claims
# it (ticket_claimed_*: one filer at a time, another replica or the repair pass takes over a stale claim).
class Followup(SQLModel, table=True):
    __tablename__ = "followup"
    __table_args__ = (
        Index("ix_followup_ticket_state", "ticket_state"),
        Index("ix_followup_ticket_key", "tracker", "ticket_key", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE")
    text: str
    owner: str | None = Field(default=None, max_length=64)
    done: bool = Field(default=False)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # "github" or "jira": the tracker its ticket is filed in ("" when none was configured).
    tracker: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    # "" no ticket; "pending" not filed yet; "open"; "closed" (the ticket was closed: the follow-up is done).
    ticket_state: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    ticket_key: str | None = Field(default=None, max_length=255)  # "OPS-12", or the GitHub issue number
    ticket_url: str | None = Field(default=None, max_length=500)
    ticket_error: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    ticket_claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ticket_claimed_by: str | None = Field(default=None, max_length=255)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The public Statuspage incident an incident published (`/incident statuspage publish`); none for a private
# incident. Written first (page_incident_id NULL), opened at Statuspage after the commit by whoever claims it;
# each later update is asked for in the record first and sent after, the same way.
class StatuspageIncident(SQLModel, table=True):
    __tablename__ = "statuspage_incident"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    page_incident_id: str | None = Field(default=None, max_length=64)
    shortlink: str | None = Field(default=None, max_length=500)
    # The Statuspage status last asked for: investigating, identified, monitoring or resolved.
    status: str = Field(max_length=32)
    components: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    body: str = Field(default="", sa_type=Text)  # the message of the last update asked for
    # Updates asked for (the opening is the first) and sent to Statuspage: fewer sent is an update to send.
    asked: int = Field(default=1, sa_column_kwargs={"server_default": "0"})
    sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    error: str = Field(default="", sa_type=Text)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=255)
    published_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# A reminder waiting in Slack's scheduler (chat.scheduleMessage), so no timer lives in a bot process.
class ScheduledReminder(SQLModel, table=True):
    __tablename__ = "scheduled_reminder"
    __table_args__ = (UniqueConstraint("incident_id", "reason", name="uq_scheduled_reminder_reason"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE")
    reason: str = Field(max_length=200)
    channel_id: str = Field(max_length=64)
    scheduled_message_id: str | None = Field(default=None, max_length=64)
    post_at: datetime = Field(sa_type=UTCDateTime)


# The durable inbox: every Slack delivery Hashi acknowledges, written before the ack (event_id, or a key of a
# command/interaction). The primary key makes a retried delivery, or one that reached two replicas, take
# effect once; `body` is what Slack sent, so the work runs from this record and a crash, a restart or a deploy
# resumes it; `done_at` is set in the same transaction as the change the delivery asked for.
class ProcessedDelivery(SQLModel, table=True):
    __tablename__ = "processed_delivery"
    __table_args__ = (Index("ix_processed_delivery_pending", "done_at", "received_at"),)

    delivery_id: str = Field(primary_key=True, max_length=255)
    kind: str = Field(max_length=32)
    received_at: datetime = Field(sa_type=UTCDateTime)
    body: str | None = Field(default=None, sa_type=Text)  # the payload as JSON; cleared once done
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Which replica works on it, until when (a crashed one's work is taken over after that).
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    outcome: str = Field(default="", max_length=255, sa_column_kwargs={"server_default": ""})


# What stats read of one incident, kept by every write that changes it (storage.stats): times as integer Unix
# microseconds rounded to the millisecond, the severity changes as JSON, and the exact start and end of its
# impact for choosing the incidents of a window. One narrow row per incident, so a year of a large
# organisation's incidents is read in one scan without converting a time or touching the timeline.
class IncidentStats(SQLModel, table=True):
    __tablename__ = "incident_stats"
    __table_args__ = (Index("ix_incident_stats_window", "window_start_us", "window_end_us"),)

    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    severity: str = Field(max_length=32)
    services: str = Field(sa_type=Text)  # the incident's JSON list, as stored
    private: bool
    status: str = Field(max_length=32)
    impact_started_us: int | None = Field(default=None, sa_type=BigInteger)
    detected_us: int | None = Field(default=None, sa_type=BigInteger)
    declared_us: int | None = Field(default=None, sa_type=BigInteger)
    acknowledged_us: int | None = Field(default=None, sa_type=BigInteger)
    mitigated_us: int | None = Field(default=None, sa_type=BigInteger)
    resolved_us: int | None = Field(default=None, sa_type=BigInteger)
    closed_us: int | None = Field(default=None, sa_type=BigInteger)
    impact_ended_us: int | None = Field(default=None, sa_type=BigInteger)
    # [[microseconds, code], …] in recording order; NULL when it is only the declaration, at declared_us
    # with today's severity (most incidents), so most rows need no decoding.
    severity_changes: str | None = Field(default=None, sa_type=Text)
    # Exact (not rounded): impact start (impact_started, else detected, else declared) and end (impact_ended,
    # else mitigated, else resolved; NULL while it lasts).
    window_start_us: int = Field(sa_type=BigInteger)
    window_end_us: int | None = Field(default=None, sa_type=BigInteger)
    incident_type: str = Field(
        default="default", max_length=64, sa_column_kwargs={"server_default": "default"}
    )
    # The incident's custom fields as its JSON object, as stored; NULL when it has none (most incidents).
    custom_fields: str | None = Field(default=None, sa_type=Text)


# Which incident an alert group (Alertmanager's or Grafana's groupKey) opened: a later notification of the
# same group adds to that incident while it is open. The primary key makes two replicas, or two deliveries
# racing, link one group to one incident; `group_key` is kept as sent, hashed into the key (it may be long).
class AlertGroup(SQLModel, table=True):
    __tablename__ = "alert_group"

    source: str = Field(primary_key=True, max_length=32)
    group_hash: str = Field(primary_key=True, max_length=64)
    group_key: str = Field(sa_type=Text)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE")
    updated_at: datetime = Field(sa_type=UTCDateTime)


# A page sent (or to send) to PagerDuty's Events API for an incident: a trigger at declaration or on demand,
# an acknowledge or resolve following Slack. Recorded in the transaction of the change that asked for it and
# sent after the commit, so a failed or interrupted send is retried and never loses the incident;
# `request_key` makes the same request, replayed, one page.
class Page(SQLModel, table=True):
    __tablename__ = "page"
    __table_args__ = (
        UniqueConstraint("incident_id", "request_key", name="uq_page_request"),
        Index("ix_page_pending", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", ondelete="CASCADE")
    request_key: str = Field(max_length=255)
    action: str = Field(max_length=16)  # trigger, acknowledge, resolve
    target: str = Field(max_length=255)  # what was paged: "severity", "service:<name>", "user:<U…>"
    dedup_key: str = Field(max_length=255)
    requested_by: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=16)  # pending, sent, failed
    attempts: int = Field(default=0)
    error: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
