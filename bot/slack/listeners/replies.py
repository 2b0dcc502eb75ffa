"""Replies several surfaces share: stats, checklists, the postmortem upload, the status page's
confirmation."""

from __future__ import annotations

import asyncio
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.i18n import Lang, t
from bot.incidents.escaping import escape_mrkdwn
from bot.incidents.model import IncidentSnapshot, Status
from bot.incidents.permissions import Act
from bot.incidents.times import TimeParseError, format_local, zone
from bot.incidents.windows import Window
from bot.reports.postmortem import render_postmortem
from bot.reports.stats import compute_stats
from bot.reports.stats_formats import stats_table
from bot.reports.stats_rows import rows_of_service, rows_seen_by
from bot.slack.blocks.checklist import checklist_blocks
from bot.slack.blocks.confirmations import statuspage_confirm_blocks
from bot.slack.blocks.lists import (
    HOME_PAGE_SIZE,
    LIST_PAGE_SIZE,
    TIMELINE_PAGE_SIZE,
    Page,
    home_view,
    list_blocks,
    timeline_blocks,
)
from bot.slack.blocks.modals import resolve_modal
from bot.slack.blocks.mrkdwn import user_text
from bot.slack.ids import Action
from bot.slack.listeners.context import Deps

# What a listener answers the user: mrkdwn text, blocks, or nothing.
Reply = str | list[dict[str, Any]] | None


async def show_stats(
    deps: Deps,
    *,
    user_id: str,
    window: Window,
    window_text: str,
    service: str | None,
    lang: Lang,
    tz: ZoneInfo,
) -> Reply:
    """Recovery-time metrics over a window, as a code block (private incidents count, never named, and the
    services only they carry stay unnamed to the people outside them)."""
    now = deps.clock.now()
    first = await deps.service.first_start() if window.from_first else None
    try:
        since, until = window.bounds(now=now, first=first)
    except TimeParseError as exc:
        return t("errors.stats_window", lang, reason=escape_mrkdwn(exc.reason.render(lang)))
    rows = await rows_seen_by(
        deps.service, user_id=user_id, since=since, until=until, configured=deps.settings.team.slos()
    )
    if service:
        rows = rows_of_service(rows, service)
    by: Literal["severity", "service"] = "service" if service else "severity"
    report = compute_stats(rows, since=since, until=until, by=by, slos=deps.settings.team.slos(), now=now)
    table = escape_mrkdwn(stats_table(report, lang))
    shown = {"window": escape_mrkdwn(window_text)}
    key = "stats.heading"
    if window.span is None:
        key = "stats.heading_range"
        shown = {"since": format_local(since, tz, lang), "until": format_local(until, tz, lang)}
    if service:
        heading = t(f"{key}_service", lang, **shown, service=user_text(service, limit=100))
    else:
        heading = t(key, lang, **shown)
    return f"{heading}\n```{table}```"


async def resolve_form(deps: Deps, *, incident_id: int, user_id: str, lang: Lang) -> dict[str, Any]:
    """The resolve modal of an incident: the review of its milestones, then its custom fields filled in."""
    snap = await deps.service.visible_snapshot(incident_id=incident_id, user_id=user_id, timeline=False)
    return resolve_modal(
        incident_id=incident_id,
        lang=lang,
        milestones=snap.milestones,
        fields=deps.shape.fields,
        values=snap.fields,
    )


async def list_page(deps: Deps, *, user_id: str, number: int, lang: Lang) -> list[dict[str, Any]]:
    """One page of the open incidents a user may see, for a message."""
    size = LIST_PAGE_SIZE
    incidents, total = await deps.service.visible_incidents(
        user_id=user_id, limit=size, offset=(max(1, number) - 1) * size
    )
    page = Page(number=max(1, number), size=size, total=total)
    return list_blocks(incidents, page=page, action_id=Action.LIST_PAGE, lang=lang)


async def timeline_page(
    deps: Deps, *, incident_id: int, user_id: str, number: int, lang: Lang
) -> list[dict[str, Any]]:
    """One page of an incident's timeline, latest first, with an Edit button per entry (if the user may see
    the incident)."""
    size = TIMELINE_PAGE_SIZE
    number = max(1, number)
    entries, total = await deps.service.latest_entries(
        incident_id=incident_id, user_id=user_id, limit=size, offset=(number - 1) * size
    )
    page = Page(number=number, size=size, total=total)
    return timeline_blocks(entries, incident_id=incident_id, page=page, lang=lang)


async def home_page(deps: Deps, *, user_id: str, number: int, lang: Lang) -> None:
    """Publishes one page of a user's App Home."""
    size = HOME_PAGE_SIZE
    incidents, total = await deps.service.visible_incidents(
        user_id=user_id, limit=size, offset=(max(1, number) - 1) * size
    )
    page = Page(number=max(1, number), size=size, total=total)
    view = home_view(incidents, page=page, lang=lang, public_url=deps.gateway.public_url)
    await deps.gateway.publish_home(user_id=user_id, view=view)


async def show_checklist(deps: Deps, *, incident_id: int, user_id: str, lang: Lang) -> Reply:
    """The incident's checklists with what is done, by whom."""
    snap = await deps.service.visible_snapshot(incident_id=incident_id, user_id=user_id, timeline=False)
    return checklist_blocks(snap, lang)


async def people_names(deps: Deps, snap: IncidentSnapshot) -> dict[str, str]:
    """Display names of everyone an incident mentions, by Slack user id."""
    people = {snap.lead, snap.declared_by, *snap.participants, *(u for _, u in snap.roles)}
    people |= {e.actor for e in snap.timeline} | {f.owner for f in snap.followups}
    ids = sorted(p for p in people if p)
    profiles = await asyncio.gather(*(deps.gateway.user_profile(user_id) for user_id in ids))
    return {p.user_id: p.name for p in profiles}


async def export_postmortem(deps: Deps, *, incident_id: int, user_id: str, lang: Lang) -> Reply:
    """Uploads the postmortem draft as a Markdown file into the incident channel (in the workspace language:
    the channel reads it; the requester is answered in theirs)."""
    snap = await deps.service.visible_snapshot(incident_id=incident_id, user_id=user_id)
    await deps.service.authorize(Act.EXPORT, actor=user_id, incident_id=incident_id)
    if not snap.channel_id:
        return t("postmortem_upload.no_channel", lang, id=snap.id)
    names = await people_names(deps, snap)
    shared = deps.channel_language
    markdown = render_postmortem(
        snap,
        tz=zone(deps.settings.env.timezone),
        generated_at=deps.clock.now(),
        names=names,
        lang=shared,
        template=deps.settings.postmortem_template,
        shape=deps.shape,
    )
    await deps.gateway.upload_markdown(
        channel_id=snap.channel_id,
        filename=f"INC-{snap.id}-postmortem.md",
        title=t("postmortem_upload.title", shared, id=snap.id),
        content=markdown,
        comment=t("postmortem_upload.comment", shared, id=snap.id, count=len(snap.timeline), user=user_id),
    )
    return t("postmortem_upload.done", lang, id=snap.id, channel=snap.channel_id)


async def statuspage_confirmation(
    deps: Deps, *, incident_id: int, status: Status, message: str, lang: Lang
) -> Reply:
    """After a status change in Slack: when the incident is on the public status page, asks the one who made
    it to confirm the page's update with their (editable) message; else nothing."""
    pages = deps.service.status_pages
    if pages.page is None or not await pages.published(incident_id=incident_id):
        return None
    return statuspage_confirm_blocks(incident_id=incident_id, status=status.value, message=message, lang=lang)
