"""The card's buttons and selects, checklist ticks and App Home buttons: ack, one service call, reply."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.i18n import Lang, Msg, t
from bot.incidents.errors import ChatError, IncidentError
from bot.incidents.model import Status
from bot.slack import blocks
from bot.slack.ids import Action, Field
from bot.slack.ids import Block as BlockId
from bot.slack.listeners.context import Deps
from bot.slack.listeners.replies import (
    Reply,
    export_postmortem,
    home_page,
    list_page,
    resolve_form,
    statuspage_confirmation,
    timeline_page,
)
from bot.slack.parse import MAX_TEXT, selected_option, selected_options, state_value
from bot.slack.payloads import (
    ChecklistBlock,
    ChecklistOption,
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

log = logging.getLogger(__name__)


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body.get("actions", [{}])[0])


def _channel(body: dict[str, Any]) -> str:
    return str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")


async def _incident_id(body: dict[str, Any], deps: Deps) -> int:
    """The incident an action is about (button value, else the card's channel), if the user may see it."""
    ref = IncidentRef.decode(_action(body).get("value"))
    incident_id = ref.incident_id if ref is not None else None
    if incident_id is None:
        incident_id = await deps.service.incident_for_channel(channel_id=_channel(body))
        if incident_id is None:
            raise IncidentError(Msg("errors.message_not_in_incident"))
    await deps.service.check_visible(incident_id=incident_id, user_id=body["user"]["id"])
    return incident_id


async def _answer(
    body: dict[str, Any], respond: AsyncRespond, deps: Deps, message: Reply, lang: Lang
) -> None:
    """An ephemeral answer to the clicking user (through response_url, else chat.postEphemeral)."""
    if message is None:
        return
    for part in blocks.answer_messages(message, fallback=t("slack.blocks_fallback", lang)):
        if body.get("response_url"):
            await respond(
                text=part.text, blocks=part.blocks, response_type="ephemeral", replace_original=False
            )
        elif _channel(body):
            try:
                await deps.gateway.post_ephemeral(
                    channel_id=_channel(body),
                    user_id=body["user"]["id"],
                    text=part.text,
                    extra_blocks=part.blocks,
                )
            except ChatError as exc:  # e.g. the user is not in that channel: nowhere to answer
                log.info("could not answer %s: %s", body["user"]["id"], exc.reason)
                return


def register(app: AsyncApp, deps: Deps) -> None:
    """Adds the action listeners."""

    async def run(
        body: dict[str, Any], respond: AsyncRespond, work: Callable[[Lang], Awaitable[Reply]]
    ) -> None:
        await deps.turns.after_ack()
        lang = await deps.user_language(body["user"]["id"])
        try:
            await _answer(body, respond, deps, await work(lang), lang)
        except IncidentError as exc:
            await _answer(body, respond, deps, blocks.error_text(exc, lang), lang)
        except ChatError as exc:
            await _answer(body, respond, deps, blocks.slack_refused_text(exc, lang), lang)

    @deps.inbox.listen(app.action, Action.ACK)
    async def ack_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def work(_lang: Lang) -> Reply:
            await deps.service.acknowledge(
                incident_id=await _incident_id(body, deps), actor=body["user"]["id"]
            )
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.SEVERITY)
    async def severity_chosen(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        code = selected_option(_action(body))

        async def work(lang: Lang) -> Reply:
            if code is None:
                return t("actions.bad_click", lang)
            await deps.service.set_severity(
                incident_id=await _incident_id(body, deps), severity=code, actor=body["user"]["id"]
            )
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.STATUS)
    async def status_chosen(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = selected_option(_action(body))

        async def work(lang: Lang) -> Reply:
            if value is None:
                return t("actions.bad_click", lang)
            incident_id = await _incident_id(body, deps)
            if value == Status.RESOLVED.value:
                await deps.gateway.open_modal(
                    trigger_id=body["trigger_id"],
                    view=await resolve_form(
                        deps, incident_id=incident_id, user_id=body["user"]["id"], lang=lang
                    ),
                )
                return None
            try:
                status = Status(value)
            except ValueError:
                return t("actions.unknown_status", lang, value=blocks.user_text(value, limit=40))
            await deps.service.set_status(incident_id=incident_id, status=status, actor=body["user"]["id"])
            return await statuspage_confirmation(
                deps, incident_id=incident_id, status=status, message="", lang=lang
            )

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.NOTE)
    async def note_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def work(lang: Lang) -> Reply:
            incident_id = await _incident_id(body, deps)
            await deps.gateway.open_modal(
                trigger_id=body["trigger_id"], view=blocks.note_modal(incident_id=incident_id, lang=lang)
            )
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.RESOLVE)
    async def resolve_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def work(lang: Lang) -> Reply:
            incident_id = await _incident_id(body, deps)
            view = await resolve_form(deps, incident_id=incident_id, user_id=body["user"]["id"], lang=lang)
            await deps.gateway.open_modal(trigger_id=body["trigger_id"], view=view)
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.RESOLVE_ANYWAY)
    async def resolve_anyway_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def work(lang: Lang) -> Reply:
            asked = ResolveAnywayButton.decode(_action(body).get("value"))
            if asked is None:
                return t("actions.confirmation_stale", lang)
            incident_id, at, summary = asked.incident_id, asked.at, asked.summary
            typed = state_value(body, BlockId.GATE_SUMMARY, Field.GATE_SUMMARY)  # the gate's summary input
            if isinstance(typed, str):
                summary = typed.strip()[:MAX_TEXT]
            await deps.service.check_visible(incident_id=incident_id, user_id=body["user"]["id"])
            await deps.service.resolve(
                incident_id=incident_id,
                actor=body["user"]["id"],
                at=at,
                summary=summary,
                override_gates=True,
            )
            confirm = await statuspage_confirmation(
                deps, incident_id=incident_id, status=Status.RESOLVED, message=summary, lang=lang
            )
            return confirm or t("actions.resolved_anyway", lang, id=incident_id)

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.STATUSPAGE_UPDATE)
    async def statuspage_update_confirmed(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def work(lang: Lang) -> Reply:
            asked = StatuspageButton.decode(_action(body).get("value"))
            if asked is None:
                return t("actions.bad_click", lang)
            incident_id, status = asked.incident_id, asked.status
            typed = state_value(body, BlockId.STATUSPAGE_MESSAGE, Field.STATUSPAGE_MESSAGE)
            message = typed.strip()[:MAX_TEXT] if isinstance(typed, str) else ""
            await deps.service.check_visible(incident_id=incident_id, user_id=body["user"]["id"])
            sent = await deps.service.status_pages.update(
                incident_id=incident_id, actor=body["user"]["id"], status=status, message=message
            )
            key = "actions.statuspage_updated" if sent is not None else "actions.statuspage_pending"
            return t(key, lang, id=incident_id)

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.REOPEN)
    async def reopen_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def work(_lang: Lang) -> Reply:
            await deps.service.reopen(incident_id=await _incident_id(body, deps), actor=body["user"]["id"])
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.EXPORT)
    async def export_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def work(lang: Lang) -> Reply:
            return await export_postmortem(
                deps, incident_id=await _incident_id(body, deps), user_id=body["user"]["id"], lang=lang
            )

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.RETRY_SETUP)
    async def retry_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()

        async def work(lang: Lang) -> Reply:
            setup = await deps.service.ensure_room(incident_id=await _incident_id(body, deps))
            if setup.missing:
                return t("actions.still_missing", lang, steps=blocks.steps_text(setup.missing, lang))
            return t("actions.set_up", lang, id=setup.incident.id, channel=setup.incident.channel_id)

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.CHECKLIST)
    async def checklist_ticked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = _action(body)
        where = ChecklistBlock.decode(action.get("block_id"))
        selected = selected_options(action)

        async def work(lang: Lang) -> Reply:
            if selected is None:
                return t("actions.bad_click", lang)
            if where is None:
                return t("actions.checklist_stale", lang)
            incident_id, start, playbook = where.incident_id, where.start, where.playbook
            ticked = (ChecklistOption.decode(value, playbook=playbook) for value in selected)
            await deps.service.check_visible(incident_id=incident_id, user_id=body["user"]["id"])
            await deps.service.tick_items(
                incident_id=incident_id,
                playbook=playbook,
                first=start,
                count=blocks.MAX_CHECKBOX_OPTIONS,
                done={option.key for option in ticked if option is not None},
                actor=body["user"]["id"],
            )
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.DECLARE)
    async def declare_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await deps.turns.after_ack()
        user_id = body["user"]["id"]
        tz, lang = await deps.user_prefs(user_id)
        view = blocks.declare_modal(
            severities=deps.severities,
            default_severity=deps.settings.team.default,
            lang=lang,
            meta=DeclareModalMeta(channel_id="", zone=tz.key, lang=lang),
            shape=deps.shape,
        )
        await deps.gateway.open_modal(trigger_id=body["trigger_id"], view=view)

    @deps.inbox.listen(app.action, re.compile(f"^{Action.LIST_PAGE}_(prev|next)$"))
    async def list_page_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await deps.turns.after_ack()
        number, user_id = PageButton.decode(_action(body).get("value")).number, body["user"]["id"]
        lang = await deps.user_language(user_id)
        await respond(
            replace_original=True,
            response_type="ephemeral",
            text=t("slack.list.fallback", lang),
            blocks=await list_page(deps, user_id=user_id, number=number, lang=lang),
        )

    @deps.inbox.listen(app.action, re.compile(f"^{Action.TIMELINE_PAGE}_(prev|next)$"))
    async def timeline_page_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        page = TimelinePageButton.decode(_action(body).get("value"))

        async def work(lang: Lang) -> Reply:
            if page is None:
                return t("actions.bad_click", lang)
            incident_id, number = page.incident_id, page.number
            shown = await timeline_page(
                deps, incident_id=incident_id, user_id=body["user"]["id"], number=number, lang=lang
            )
            fallback = t("slack.timeline.fallback", lang, id=incident_id)
            await respond(replace_original=True, response_type="ephemeral", text=fallback, blocks=shown)
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.TIMELINE_EDIT)
    async def entry_edit_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        clicked = EntryEditButton.decode(_action(body).get("value"))

        async def work(lang: Lang) -> Reply:
            if clicked is None:
                return t("actions.bad_click", lang)
            incident_id, entry_id = clicked.incident_id, clicked.entry_id
            user_id = body["user"]["id"]
            entry, milestone, deletable = await deps.service.timeline_entry(
                incident_id=incident_id, entry_id=entry_id, user_id=user_id
            )
            tz, _ = await deps.user_prefs(user_id)
            meta = EntryModalMeta(
                incident_id=incident_id,
                entry_id=entry_id,
                digest=text_digest(entry.text_in(lang)[:MAX_TEXT]),
                at_text=f"{entry.at.astimezone(tz):%Y-%m-%d %H:%M}",
                zone=tz.key,
                channel_id=_channel(body),
            )
            view = blocks.entry_modal(entry, milestone=milestone, deletable=deletable, meta=meta, lang=lang)
            await deps.gateway.open_modal(trigger_id=body["trigger_id"], view=view)
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, re.compile(f"^{Action.HOME_PAGE}_(prev|next)$"))
    async def home_page_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await deps.turns.after_ack()
        user_id = body["user"]["id"]
        await home_page(
            deps,
            user_id=user_id,
            number=PageButton.decode(_action(body).get("value")).number,
            lang=await deps.user_language(user_id),
        )
