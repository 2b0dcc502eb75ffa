"""The card's buttons and selects, checklist ticks and App Home buttons: ack, one service call, reply."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
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
from bot.slack.parse import MAX_TEXT, id_number, selected_option, selected_options, state_value

log = logging.getLogger(__name__)


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body.get("actions", [{}])[0])


def _channel(body: dict[str, Any]) -> str:
    return str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")


async def _incident_id(body: dict[str, Any], deps: Deps) -> int:
    """The incident an action is about (button value, else the card's channel), if the user may see it."""
    incident_id = id_number(_action(body).get("value"))
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
            asked = _resolve_request(_action(body).get("value"))
            if asked is None:
                return t("actions.confirmation_stale", lang)
            incident_id, at, summary = asked
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
            asked = _statuspage_request(_action(body).get("value"))
            if asked is None:
                return t("actions.bad_click", lang)
            incident_id, status = asked
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
        where = blocks.parse_checklist_block_id(str(action.get("block_id", "")))
        selected = selected_options(action)

        async def work(lang: Lang) -> Reply:
            if selected is None:
                return t("actions.bad_click", lang)
            if where is None:
                return t("actions.checklist_stale", lang)
            incident_id, start, playbook = where
            await deps.service.check_visible(incident_id=incident_id, user_id=body["user"]["id"])
            await deps.service.tick_items(
                incident_id=incident_id,
                playbook=playbook,
                first=start,
                count=blocks.MAX_CHECKBOX_OPTIONS,
                done={v.split("/", 1)[1] for v in selected if v.startswith(f"{playbook}/")},
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
        meta = json.dumps({"channel": "", "tz": tz.key, "lang": lang})
        view = blocks.declare_modal(
            severities=deps.severities,
            default_severity=deps.settings.team.default,
            lang=lang,
            channel_id=meta,
            shape=deps.shape,
        )
        await deps.gateway.open_modal(trigger_id=body["trigger_id"], view=view)

    @deps.inbox.listen(app.action, re.compile(f"^{Action.LIST_PAGE}_(prev|next)$"))
    async def list_page_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await deps.turns.after_ack()
        number, user_id = _page_number(body), body["user"]["id"]
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
        pair = _pair(_action(body).get("value"))

        async def work(lang: Lang) -> Reply:
            if pair is None:
                return t("actions.bad_click", lang)
            incident_id, number = pair
            page = await timeline_page(
                deps, incident_id=incident_id, user_id=body["user"]["id"], number=number, lang=lang
            )
            fallback = t("slack.timeline.fallback", lang, id=incident_id)
            await respond(replace_original=True, response_type="ephemeral", text=fallback, blocks=page)
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, Action.TIMELINE_EDIT)
    async def entry_edit_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        pair = _pair(_action(body).get("value"))

        async def work(lang: Lang) -> Reply:
            if pair is None:
                return t("actions.bad_click", lang)
            incident_id, entry_id = pair
            user_id = body["user"]["id"]
            entry, milestone, deletable = await deps.service.timeline_entry(
                incident_id=incident_id, entry_id=entry_id, user_id=user_id
            )
            tz, _ = await deps.user_prefs(user_id)
            at_text = f"{entry.at.astimezone(tz):%Y-%m-%d %H:%M}"
            initial = entry.text_in(lang)[:MAX_TEXT]
            meta = json.dumps(
                {
                    "i": incident_id,
                    "e": entry_id,
                    "t": blocks.text_digest(initial),
                    "a": at_text,
                    "tz": tz.key,
                    "c": _channel(body),
                }
            )
            view = blocks.entry_modal(
                entry,
                milestone=milestone,
                deletable=deletable,
                metadata=meta,
                at_text=at_text,
                zone=tz.key,
                lang=lang,
            )
            await deps.gateway.open_modal(trigger_id=body["trigger_id"], view=view)
            return None

        await run(body, respond, work)

    @deps.inbox.listen(app.action, re.compile(f"^{Action.HOME_PAGE}_(prev|next)$"))
    async def home_page_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await deps.turns.after_ack()
        user_id = body["user"]["id"]
        await home_page(
            deps, user_id=user_id, number=_page_number(body), lang=await deps.user_language(user_id)
        )


def _pair(value: Any) -> tuple[int, int] | None:
    """(incident id, a number) from a button value `12:34` Hashi wrote, else None."""
    first, _, second = str(value or "").partition(":")
    incident_id, number = id_number(first), id_number(second)
    return None if incident_id is None or number is None else (incident_id, number)


def _page_number(body: dict[str, Any]) -> int:
    value = str(_action(body).get("value") or "1")
    return max(1, min(id_number(value) or 1, 100_000))


def _button_request(value: Any) -> tuple[int, dict[str, Any]] | None:
    """(incident id, the rest) from a confirmation button's JSON value, or None when it is not one."""
    try:
        asked = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    incident_id = id_number(str(asked.get("id", ""))) if isinstance(asked, dict) else None
    if not isinstance(asked, dict) or incident_id is None:
        return None
    return incident_id, asked


def _statuspage_request(value: Any) -> tuple[int, Status] | None:
    """(incident id, status) from an "Update the status page" button's value, or None when it is not one."""
    found = _button_request(value)
    if found is None:
        return None
    try:
        return found[0], Status(str(found[1].get("status")))
    except ValueError:
        return None


def _resolve_request(value: Any) -> tuple[int, datetime | None, str] | None:
    """(incident id, when, summary) from a "Resolve anyway" button's value, or None when it is not one."""
    found = _button_request(value)
    if found is None:
        return None
    incident_id, asked = found
    at = None
    if asked.get("at") is not None:
        try:
            at = datetime.fromisoformat(str(asked["at"]))
        except ValueError:
            return None
        if at.tzinfo is None:
            return None
    return incident_id, at, str(asked.get("summary") or "")[:2900]
