"""The `hashi export --format json` object of INTERFACE.md."""

from __future__ import annotations

from typing import Any

from bot.i18n import DEFAULT_LANG, Lang
from bot.incidents.model import IncidentSnapshot, TimelineEntry
from bot.reports.formatting import iso_utc
from bot.reports.metrics import incident_metrics


def export_json(snap: IncidentSnapshot, *, lang: Lang = DEFAULT_LANG) -> dict[str, Any]:
    """Everything about one incident as JSON-ready data (times ISO 8601 UTC, durations in seconds), Hashi's
    own words on the timeline in `lang`."""
    playbooks: dict[str, list[dict[str, Any]]] = {}
    for item in snap.checklists:
        playbooks.setdefault(item.playbook, []).append(
            {
                "title": item.title,
                "done": item.done,
                "done_by": item.done_by,
                "done_at": iso_utc(item.done_at),
            }
        )
    timeline = sorted(snap.timeline, key=lambda e: (e.at, e.recorded_at))
    exported: dict[str, Any] = {
        "id": snap.id,
        "title": snap.title,
        "severity": snap.severity,
        "status": snap.status.value,
        "private": snap.private,
        "services": list(snap.services),
        "lead": snap.lead,
        "channel_id": snap.channel_id,
        "milestones": {name: iso_utc(dt) for name, dt in snap.milestones.as_dict().items()},
        "metrics": incident_metrics(snap.milestones).as_dict(),
        "timeline": [entry_json(e, lang) for e in timeline],
        "checklists": [{"playbook": name, "items": items} for name, items in playbooks.items()],
        "followups": [
            {
                "text": f.text,
                "owner": f.owner,
                "done": f.done,
                "status": f.status,
                "ticket": f.ticket_key,
                "url": f.url,
            }
            for f in snap.followups
        ],
        "type": snap.incident_type,
        "fields": dict(snap.fields),
    }
    if snap.statuspage is not None:
        page = snap.statuspage
        exported["statuspage"] = {
            "id": page.page_incident_id,
            "url": page.url,
            "status": page.status,
            "components": list(page.components),
            "pending": page.pending,
        }
    if snap.pages:
        exported["pages"] = [
            {
                "action": p.action,
                "target": p.target,
                "dedup_key": p.dedup_key,
                "status": p.status,
                "attempts": p.attempts,
                "error": p.error or None,
                "requested_by": p.requested_by,
                "created_at": iso_utc(p.created_at),
                "sent_at": iso_utc(p.sent_at),
            }
            for p in snap.pages
        ]
    return exported


def entry_json(entry: TimelineEntry, lang: Lang) -> dict[str, Any]:
    """One timeline entry; one that someone corrected also says who did, when, and every earlier version
    (`previous`, oldest first: `at`, `text`, and the `edited_at`/`edited_by` of the edit that made it)."""
    data: dict[str, Any] = {
        "at": iso_utc(entry.at),
        "recorded_at": iso_utc(entry.recorded_at),
        "kind": entry.kind,
        "actor": entry.actor,
        "text": entry.text_in(lang),
    }
    if entry.edited_at is not None:
        data["edited_at"] = iso_utc(entry.edited_at)
        data["edited_by"] = entry.edited_by
        data["previous"] = [
            {
                "at": iso_utc(version.at),
                "text": version.text,
                "edited_at": iso_utc(version.edited_at),
                "edited_by": version.edited_by,
            }
            for version in entry.previous
        ]
    return data
