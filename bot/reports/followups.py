"""`hashi followups list`: follow-ups across incidents, with their age and owner (pure: rows in, text out).

A private incident's follow-ups are listed without their text (the CLI counts them, as `hashi stats` does,
without saying what they are); `hashi export <id>` of the incident shows them whole to an operator who names
it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.i18n import DEFAULT_LANG, Lang, t
from bot.incidents.model import FollowupRow
from bot.incidents.times import format_duration
from bot.reports.formatting import align_rows, iso_utc

TEXT_WIDTH = 60  # characters of a follow-up's text in the table


def _age(row: FollowupRow, now: datetime) -> float:
    """Seconds since it was recorded (until it was done, for one done)."""
    return ((row.done_at or now) - row.created_at).total_seconds()


def followups_json(rows: Sequence[FollowupRow], *, now: datetime) -> list[dict[str, Any]]:
    """One object per follow-up: incident, id, text (null for a private incident), owner, created_at,
    age_seconds, status, ticket, url, private."""
    return [
        {
            "incident": row.incident_id,
            "id": row.id,
            "text": None if row.private else row.text,
            "owner": None if row.private else row.owner,
            "created_at": iso_utc(row.created_at),
            "age_seconds": int(_age(row, now)),
            "status": row.status,
            "ticket": row.ticket_key,
            "url": row.url,
            "private": row.private,
        }
        for row in rows
    ]


def followups_table(rows: Sequence[FollowupRow], *, now: datetime, lang: Lang = DEFAULT_LANG) -> str:
    """The follow-ups as aligned plain text, oldest first."""
    if not rows:
        return t("followups_list.none", lang) + "\n"
    columns = ("incident", "followup", "owner", "age", "status", "ticket")
    table = [[t(f"followups_list.{c}", lang) for c in columns]]
    for row in rows:
        text = t("followups_list.private", lang) if row.private else " ".join(row.text.split())
        if len(text) > TEXT_WIDTH:
            text = text[: TEXT_WIDTH - 1] + "…"
        owner = "—" if row.private or not row.owner else row.owner
        table.append(
            [
                f"INC-{row.incident_id}",
                text,
                owner,
                format_duration(_age(row, now), lang),
                row.status,
                row.url or row.ticket_key or "—",
            ]
        )
    return "\n".join(align_rows(table, right=frozenset({3}))) + "\n"
