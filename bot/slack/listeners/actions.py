"""The card's buttons and selects, checklist ticks, timeline and list pages, App Home: ack, decode the click,
one service call, answer the user who clicked."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.i18n import Lang, Msg, t
from bot.incidents.errors import ChatError, IncidentError
from bot.incidents.model import Status
from bot.slack.blocks.checklist import MAX_CHECKBOX_OPTIONS
from bot.slack.blocks.messages import answer_messages
from bot.slack.blocks.modals import declare_modal, entry_modal, note_modal
from bot.slack.blocks.mrkdwn import error_text, slack_refused_text, steps_text, user_text
from bot.slack.ids import Block, Field
from bot.slack.inbox import Listener
from bot.slack.listeners.context import Deps, incident_named_or_here
from bot.slack.listeners.replies import (
    Reply,
    export_postmortem,
    home_page,
    list_page,
    resolve_form,
    statuspage_confirmation,
    timeline_page,
)
from bot.slack.payloads import (
    ChecklistBlock,
    ChecklistOption,
    Click,
    DeclareModalMeta,
    EntryEditButton,
    EntryModalMeta,
    IncidentRef,
    PageButton,
    ResolveAnywayButton,
    StatuspageButton,
    TimelinePageButton,
    text_digest,
)
from bot.slack.text import MAX_TEXT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replace:
    """An answer that takes the place of the (ephemeral) message clicked: another page of it."""

    text: str
    blocks: list[dict[str, Any]]


ClickReply = Reply | Replace
ClickWork = Callable[[Deps, Click, Lang], Awaitable[ClickReply]]


async def _answer(deps: Deps, click: Click, respond: AsyncRespond, message: ClickReply, lang: Lang) -> None:
    """An ephemeral answer to the user who clicked (through response_url, else chat.postEphemeral)."""
    if message is None:
        return
    if isinstance(message, Replace):
        if click.answerable:
            await respond(
                replace_original=True, response_type="ephemeral", text=message.text, blocks=message.blocks
            )
        return
    for part in answer_messages(message, fallback=t("slack.blocks_fallback", lang)):
        if click.answerable:
            await respond(
                text=part.text, blocks=part.blocks, response_type="ephemeral", replace_original=False
            )
        elif click.channel_id:
            try:
                await deps.gateway.post_ephemeral(
                    channel_id=click.channel_id,
                    user_id=click.user_id,
                    text=part.text,
                    extra_blocks=part.blocks,
                )
            except ChatError as exc:  # e.g. the user is not in that channel: nowhere to answer
                log.info("could not answer %s: %s", click.user_id, exc.reason)
                return


def answered(work: ClickWork) -> Listener:
    """A click's work as its listener: ack at once, decode the click, then (after the ack) the work, and
    answer the user who clicked with what it returns, or with the error it raised."""

    @functools.wraps(work)
    async def listener(deps: Deps, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        click = Click.decode(body)
        if click is None:
            return
        await deps.turns.after_ack()
        lang = await deps.user_language(click.user_id)
        try:
            await _answer(deps, click, respond, await work(deps, click, lang), lang)
        except IncidentError as exc:
            await _answer(deps, click, respond, error_text(exc, lang), lang)
        except ChatError as exc:
            await _answer(deps, click, respond, slack_refused_text(exc, lang), lang)

    return listener


async def _clicked_incident(deps: Deps, click: Click) -> int:
    """The incident a click is about (the card button's value, else the card's channel), if the user who
    clicked may see it."""
    ref = IncidentRef.decode(click.value)
    incident_id = await incident_named_or_here(
        deps,
        named=ref.incident_id if ref else None,
        channel_id=click.channel_id,
        elsewhere=Msg("errors.message_not_in_incident"),
    )
    await deps.service.check_visible(incident_id=incident_id, user_id=click.user_id)
    return incident_id


@answered
async def ack_clicked(deps: Deps, click: Click, _lang: Lang) -> ClickReply:
    """The card's Acknowledge."""
    await deps.service.acknowledge(incident_id=await _clicked_incident(deps, click), actor=click.user_id)
    return None


@answered
async def severity_chosen(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """A severity chosen on the card."""
    if click.selected is None:
        return t("actions.bad_click", lang)
    incident_id = await _clicked_incident(deps, click)
    await deps.service.set_severity(incident_id=incident_id, severity=click.selected, actor=click.user_id)
    return None


@answered
async def status_chosen(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """A status chosen on the card (resolved opens the resolve modal); then, when the incident is on the
    status page, the question whether to update it."""
    if click.selected is None:
        return t("actions.bad_click", lang)
    incident_id = await _clicked_incident(deps, click)
    if click.selected == Status.RESOLVED.value:
        view = await resolve_form(deps, incident_id=incident_id, user_id=click.user_id, lang=lang)
        await deps.gateway.open_modal(trigger_id=click.trigger_id, view=view)
        return None
    try:
        status = Status(click.selected)
    except ValueError:
        return t("actions.unknown_status", lang, value=user_text(click.selected, limit=40))
    await deps.service.set_status(incident_id=incident_id, status=status, actor=click.user_id)
    return await statuspage_confirmation(deps, incident_id=incident_id, status=status, message="", lang=lang)


@answered
async def note_clicked(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """The card's Add note: opens the note modal."""
    incident_id = await _clicked_incident(deps, click)
    await deps.gateway.open_modal(
        trigger_id=click.trigger_id, view=note_modal(incident_id=incident_id, lang=lang)
    )
    return None


@answered
async def resolve_clicked(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """The card's Resolve: opens the resolve modal."""
    incident_id = await _clicked_incident(deps, click)
    view = await resolve_form(deps, incident_id=incident_id, user_id=click.user_id, lang=lang)
    await deps.gateway.open_modal(trigger_id=click.trigger_id, view=view)
    return None


@answered
async def resolve_anyway_clicked(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """ "Resolve anyway" past open required checklist items, with the summary as the gate's input holds it."""
    asked = ResolveAnywayButton.decode(click.value)
    if asked is None:
        return t("actions.confirmation_stale", lang)
    summary = asked.summary
    typed = click.typed(Block.GATE_SUMMARY, Field.GATE_SUMMARY)
    if isinstance(typed, str):
        summary = typed.strip()[:MAX_TEXT]
    await deps.service.check_visible(incident_id=asked.incident_id, user_id=click.user_id)
    await deps.service.resolve(
        incident_id=asked.incident_id, actor=click.user_id, at=asked.at, summary=summary, override_gates=True
    )
    confirm = await statuspage_confirmation(
        deps, incident_id=asked.incident_id, status=Status.RESOLVED, message=summary, lang=lang
    )
    return confirm or t("actions.resolved_anyway", lang, id=asked.incident_id)


@answered
async def statuspage_update_confirmed(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """ "Update the status page", with the message as its input holds it."""
    asked = StatuspageButton.decode(click.value)
    if asked is None:
        return t("actions.bad_click", lang)
    typed = click.typed(Block.STATUSPAGE_MESSAGE, Field.STATUSPAGE_MESSAGE)
    message = typed.strip()[:MAX_TEXT] if isinstance(typed, str) else ""
    await deps.service.check_visible(incident_id=asked.incident_id, user_id=click.user_id)
    sent = await deps.service.status_pages.update(
        incident_id=asked.incident_id, actor=click.user_id, status=asked.status, message=message
    )
    key = "actions.statuspage_updated" if sent is not None else "actions.statuspage_pending"
    return t(key, lang, id=asked.incident_id)


@answered
async def reopen_clicked(deps: Deps, click: Click, _lang: Lang) -> ClickReply:
    """The resolved card's Reopen."""
    await deps.service.reopen(incident_id=await _clicked_incident(deps, click), actor=click.user_id)
    return None


@answered
async def export_clicked(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """The card's Export: the postmortem draft, uploaded into the incident channel."""
    incident_id = await _clicked_incident(deps, click)
    return await export_postmortem(deps, incident_id=incident_id, user_id=click.user_id, lang=lang)


@answered
async def retry_clicked(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """Retry set-up: the Slack steps a declaration could not finish."""
    setup = await deps.service.ensure_room(incident_id=await _clicked_incident(deps, click))
    if setup.missing:
        return t("actions.still_missing", lang, steps=steps_text(setup.missing, lang))
    return t("actions.set_up", lang, id=setup.incident.id, channel=setup.incident.channel_id)


@answered
async def checklist_ticked(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """A tick (or untick) in a checkbox group of a checklist: its items as they are ticked now."""
    if click.ticked is None:
        return t("actions.bad_click", lang)
    group = ChecklistBlock.decode(click.block_id)
    if group is None:
        return t("actions.checklist_stale", lang)
    await deps.service.check_visible(incident_id=group.incident_id, user_id=click.user_id)
    ticked = (ChecklistOption.decode(value, playbook=group.playbook) for value in click.ticked)
    await deps.service.tick_items(
        incident_id=group.incident_id,
        playbook=group.playbook,
        first=group.start,
        count=MAX_CHECKBOX_OPTIONS,
        done={option.key for option in ticked if option is not None},
        actor=click.user_id,
    )
    return None


@answered
async def timeline_page_clicked(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """Newer or older on a page of the timeline: that page, in its place."""
    asked = TimelinePageButton.decode(click.value)
    if asked is None:
        return t("actions.bad_click", lang)
    page = await timeline_page(
        deps, incident_id=asked.incident_id, user_id=click.user_id, number=asked.number, lang=lang
    )
    return Replace(text=t("slack.timeline.fallback", lang, id=asked.incident_id), blocks=page)


@answered
async def entry_edit_clicked(deps: Deps, click: Click, lang: Lang) -> ClickReply:
    """A timeline entry's Edit: opens the modal that corrects it, its time shown in the user's zone."""
    asked = EntryEditButton.decode(click.value)
    if asked is None:
        return t("actions.bad_click", lang)
    entry, milestone, deletable = await deps.service.timeline_entry(
        incident_id=asked.incident_id, entry_id=asked.entry_id, user_id=click.user_id
    )
    tz, _ = await deps.user_prefs(click.user_id)
    meta = EntryModalMeta(
        incident_id=asked.incident_id,
        entry_id=asked.entry_id,
        digest=text_digest(entry.text_in(lang)[:MAX_TEXT]),
        at_text=f"{entry.at.astimezone(tz):%Y-%m-%d %H:%M}",
        zone=tz.key,
        channel_id=click.channel_id,
    )
    view = entry_modal(entry, milestone=milestone, deletable=deletable, meta=meta, lang=lang)
    await deps.gateway.open_modal(trigger_id=click.trigger_id, view=view)
    return None


# The three below catch no error: a failure is the inbox's to try again later, as an event's is.


async def declare_clicked(deps: Deps, ack: AsyncAck, body: dict[str, Any]) -> None:
    """App Home's Declare: opens the declare modal in the user's language and zone."""
    await ack()
    click = Click.decode(body)
    if click is None:
        return
    await deps.turns.after_ack()
    tz, lang = await deps.user_prefs(click.user_id)
    view = declare_modal(
        severities=deps.severities,
        default_severity=deps.settings.team.default,
        lang=lang,
        meta=DeclareModalMeta(channel_id="", zone=tz.key, lang=lang),
        shape=deps.shape,
    )
    await deps.gateway.open_modal(trigger_id=click.trigger_id, view=view)


async def list_page_clicked(deps: Deps, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
    """Newer or older on the incident list: that page, in its place."""
    await ack()
    click = Click.decode(body)
    if click is None:
        return
    await deps.turns.after_ack()
    lang = await deps.user_language(click.user_id)
    page = await list_page(
        deps, user_id=click.user_id, number=PageButton.decode(click.value).number, lang=lang
    )
    await respond(
        replace_original=True, response_type="ephemeral", text=t("slack.list.fallback", lang), blocks=page
    )


async def home_page_clicked(deps: Deps, ack: AsyncAck, body: dict[str, Any]) -> None:
    """Newer or older on App Home: that page, published."""
    await ack()
    click = Click.decode(body)
    if click is None:
        return
    await deps.turns.after_ack()
    lang = await deps.user_language(click.user_id)
    await home_page(deps, user_id=click.user_id, number=PageButton.decode(click.value).number, lang=lang)
