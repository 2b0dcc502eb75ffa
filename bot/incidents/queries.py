"""The read side of incidents: stored rows turned into snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from bot.i18n import Msg
from bot.incidents.errors import IncidentNotFound
from bot.incidents.model import (
    ChecklistItemView,
    EarlierVersion,
    EventKind,
    FollowupRow,
    FollowupView,
    IncidentSnapshot,
    Milestone,
    Milestones,
    PageView,
    Status,
    StatuspageView,
    TimelineEntry,
)
from bot.incidents.reminders import STATUS_UPDATE_KINDS
from readmodel.stats import StatsRow
from storage.models import Incident
from storage.repository import Repository, Store

# The events a snapshot without its timeline still reads: the severity history and the last status update.
_STATE_KINDS = frozenset({EventKind.DECLARED.value, EventKind.SEVERITY.value, *STATUS_UPDATE_KINDS})


def milestones_of(row: Incident) -> Milestones:
    """The milestone timestamps of a stored incident."""
    return Milestones(**{m.value: getattr(row, m.value) for m in Milestone})


def entry_of(event: RowMapping | Mapping[str, Any]) -> TimelineEntry:
    """A stored timeline event as the read side sees it."""
    return TimelineEntry(
        at=event["at"],
        recorded_at=event["recorded_at"],
        kind=event["kind"],
        actor=event["actor"],
        text=event["text"],
        source_ref=event["source_ref"],
        permalink=event["permalink"],
        message=_message(event["data"]),
        id=event["id"],
        edited_at=event["edited_at"],
        edited_by=event["edited_by"],
        previous=earlier_versions(event["previous"]),
    )


def earlier_versions(stored: object) -> tuple[EarlierVersion, ...]:
    """An event's stored `previous` list (storage.models.TimelineEvent) as earlier versions."""
    if not isinstance(stored, list):
        return ()
    return tuple(
        EarlierVersion(
            at=datetime.fromisoformat(version["at"]),
            text=str(version.get("text", "")),
            edited_at=datetime.fromisoformat(version["edited_at"]) if version.get("edited_at") else None,
            edited_by=version.get("edited_by"),
        )
        for version in stored
        if isinstance(version, dict) and isinstance(version.get("at"), str)
    )


def _message(data: object) -> Msg | None:
    """The catalogue message a stored event carries, if any."""
    if not isinstance(data, dict) or not isinstance(data.get("msg"), dict):
        return None
    return Msg.from_data(data["msg"])


def bare_snapshot(row: Incident) -> IncidentSnapshot:
    """The incident without its timeline, roles or checklists (for lists)."""
    assert row.id is not None
    return IncidentSnapshot(
        id=row.id,
        title=row.title,
        severity=row.severity,
        status=Status(row.status),
        private=row.private,
        services=tuple(row.services),
        summary=row.summary,
        lead=row.lead,
        declared_by=row.declared_by,
        channel_id=row.channel_id,
        milestones=milestones_of(row),
        card_ts=row.card_ts,
        channel_name=row.channel_name,
        checklist_ts=row.checklist_ts,
        revision=row.revision,
        incident_type=row.incident_type,
        fields=dict(row.custom_fields),
    )


async def snapshot_of(repo: Repository, row: Incident, *, timeline: bool = True) -> IncidentSnapshot:
    """Everything stored about an incident; without its timeline (`timeline=False`: an empty tuple) for what
    acts on a change (card, checklist, reminders, permissions), which needs none of it, while a long
    incident's timeline is thousands of rows to read on every note."""
    assert row.id is not None
    parts = await repo.parts(incident_id=row.id, kinds=None if timeline else _STATE_KINDS)
    events, roles, people, items = parts.events, parts.roles, parts.participants, parts.checklist_items
    followups, pages = parts.followups, parts.pages
    severity_kinds = (EventKind.DECLARED.value, EventKind.SEVERITY.value)
    changes = sorted(
        (e for e in events if e["kind"] in severity_kinds), key=lambda e: (e["recorded_at"], e["id"])
    )
    history = tuple((e["at"], str(e["data"].get("to") or e["data"].get("severity"))) for e in changes)
    updates = [e["recorded_at"] for e in events if e["kind"] in STATUS_UPDATE_KINDS]
    bare = bare_snapshot(row)
    return IncidentSnapshot(
        id=bare.id,
        title=bare.title,
        severity=bare.severity,
        status=bare.status,
        private=bare.private,
        services=bare.services,
        summary=bare.summary,
        lead=bare.lead,
        declared_by=bare.declared_by,
        channel_id=bare.channel_id,
        milestones=bare.milestones,
        card_ts=bare.card_ts,
        channel_name=bare.channel_name,
        checklist_ts=bare.checklist_ts,
        revision=bare.revision,
        incident_type=bare.incident_type,
        fields=bare.fields,
        roles=tuple((r.role, r.user_id) for r in roles),
        participants=tuple(p.user_id for p in people),
        departed=tuple(p.user_id for p in people if p.left_at is not None),
        timeline=tuple(entry_of(e) for e in events) if timeline else (),
        checklists=tuple(
            ChecklistItemView(
                playbook=i.playbook,
                key=i.key,
                title=i.title,
                done=i.done,
                done_by=i.done_by,
                done_at=i.done_at,
                required=i.required,
                owner_role=i.owner_role,
                due_at=i.due_at,
                details=i.details,
            )
            for i in items
        ),
        followups=tuple(
            FollowupView(
                text=f.text,
                owner=f.owner,
                done=f.done,
                created_at=f.created_at,
                ticket_key=f.ticket_key,
                url=f.ticket_url,
                ticket_state=f.ticket_state,
                id=f.id,
            )
            for f in followups
        ),
        statuspage=await _statuspage(repo, row.id) if timeline else None,
        pages=tuple(
            PageView(
                action=p.action,
                target=p.target,
                dedup_key=p.dedup_key,
                status=p.status,
                attempts=p.attempts,
                error=p.error,
                requested_by=p.requested_by,
                created_at=p.created_at,
                sent_at=p.sent_at,
            )
            for p in pages
        ),
        severity_history=history,
        status_updated_at=max(updates, default=None),
    )


async def _statuspage(repo: Repository, incident_id: int) -> StatuspageView | None:
    page = await repo.statuspage(incident_id=incident_id)
    if page is None:
        return None
    return StatuspageView(
        status=page.status,
        page_incident_id=page.page_incident_id,
        url=page.shortlink,
        components=tuple(page.components),
        pending=page.sent < page.asked,
    )


async def load_snapshot(store: Store, *, incident_id: int) -> IncidentSnapshot:
    """Everything stored about an incident, or IncidentNotFound."""
    async with store.transaction() as repo:
        row = await repo.incident(incident_id=incident_id)
        if row is None:
            raise IncidentNotFound(Msg("errors.no_such_incident", id=incident_id))
        return await snapshot_of(repo, row)


async def stats_rows(store: Store, *, since: datetime, until: datetime) -> list[StatsRow]:
    """The stats rows (milestones, severity changes …) of incidents that started in [since, until), or
    before it and were still hurting inside it (storage.stats)."""
    async with store.transaction() as repo:
        return await repo.stats_rows(since=since, until=until)


async def followup_rows(store: Store, *, open_only: bool) -> list[FollowupRow]:
    """Every follow-up (only those not done: `open_only`), oldest first."""
    async with store.transaction() as repo:
        found = await repo.all_followups(open_only=open_only)
    return [
        FollowupRow(
            id=f.id or 0,
            incident_id=row.id or 0,
            private=row.private,
            text=f.text,
            owner=f.owner,
            created_at=f.created_at,
            done=f.done,
            done_at=f.done_at,
            ticket_state=f.ticket_state,
            ticket_key=f.ticket_key,
            url=f.ticket_url,
        )
        for f, row in found
    ]


async def first_start(store: Store) -> datetime | None:
    """When the first incident recorded started (for a window over `all` of them)."""
    async with store.transaction() as repo:
        return await repo.first_start()
