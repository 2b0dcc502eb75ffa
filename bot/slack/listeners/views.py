"""Modal submissions: decode, validate in the ack (errors next to the field), then one service call, then tell
the submitter."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncAck

from bot.i18n import Lang, Msg, t
from bot.incidents.deliveries import delivery_time
from bot.incidents.errors import ChatError, IncidentError, RequiredItemsOpen
from bot.incidents.fields import RecordShape, Required
from bot.incidents.model import Status
from bot.incidents.times import TimeParseError, parse_time, zone
from bot.slack.blocks.confirmations import gate_blocks
from bot.slack.blocks.modals import REVIEW_INPUTS, field_block, order_pairs
from bot.slack.blocks.mrkdwn import error_text, slack_time, user_text
from bot.slack.bodies import state_value
from bot.slack.ids import Block, Field
from bot.slack.listeners.commands import declared_reply
from bot.slack.listeners.context import Deps
from bot.slack.listeners.replies import statuspage_confirmation
from bot.slack.payloads import DeclareModalMeta, EntryModalMeta, IncidentRef, Submission
from bot.slack.text import MAX_SERVICES, MAX_TEXT, MAX_TIME_TEXT, MAX_TITLE

PRE_ACK_LOOKUP = 1.0  # seconds a submission may wait for the user's time zone before it is acknowledged
log = logging.getLogger(__name__)


def _text(
    view: dict[str, Any], block: str, field: str, limit: int, errors: dict[str, str], lang: Lang
) -> str:
    """A text input's value, trimmed ("" when it is missing or not text); longer than `limit` (the same limit
    the slash command and the modal's own max_length keep), an error next to the field."""
    value = state_value(view, block, field)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        errors[block] = t("views.at_most", lang, limit=limit)
    return text


def _time(
    view: dict[str, Any], block: str, field: str, tz: ZoneInfo, errors: dict[str, str], lang: Lang
) -> datetime | None:
    """A time input's value as a time (None when empty); unreadable, an error next to the field."""
    text = _text(view, block, field, MAX_TIME_TEXT, errors, lang)
    if not text or block in errors:
        return None
    try:
        return parse_time(text, now=delivery_time(), tz=tz)
    except TimeParseError as exc:
        errors[block] = exc.reason.render(lang)[:150]
        return None


def _custom_fields(
    view: dict[str, Any], shape: RecordShape, errors: dict[str, str], lang: Lang
) -> dict[str, str]:
    """The custom fields' inputs, by field name (text as typed, a choice, a user id); a value the field does
    not take, an error next to it."""
    given: dict[str, str] = {}
    for spec in shape.fields:
        block = field_block(spec.name)
        value = state_value(view, block, Field.CUSTOM)
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            continue
        try:
            spec.value_of(text)
        except IncidentError as exc:
            errors[block] = exc.text(lang)[:150]
            continue
        given[spec.name] = text
    return given


async def _tell(
    deps: Deps, user_id: str, channel_id: str, text: str, extra_blocks: list[dict[str, Any]] | None = None
) -> None:
    """Tells the submitter something: ephemeral where they started (or in the incident's channel), else in
    their DM with Hashi (not in that channel, or not any more)."""
    try:
        if channel_id:
            await deps.gateway.post_ephemeral(
                channel_id=channel_id, user_id=user_id, text=text, extra_blocks=extra_blocks
            )
            return
    except ChatError:
        pass  # not in that channel: fall back to a direct message
    try:
        await deps.gateway.post_direct(user_id=user_id, text=text, extra_blocks=extra_blocks)
    except ChatError as exc:
        log.info("could not tell %s: %s", user_id, exc.reason)


async def _visible_incident(deps: Deps, sub: Submission) -> int:
    """The incident of a note or resolve modal, if the submitter may see it (the modal may be stale, or
    forged)."""
    ref = IncidentRef.decode(sub.metadata)
    if ref is None:
        raise IncidentError(Msg("errors.form_out_of_date"))
    await deps.service.check_visible(incident_id=ref.incident_id, user_id=sub.user_id)
    return ref.incident_id


async def declare_submitted(deps: Deps, ack: AsyncAck, body: dict[str, Any]) -> None:
    """The declare modal: declares, then tells the declarer where the room is (or what failed)."""
    sub = Submission.decode(body)
    if sub is None:
        await ack()
        return
    view, user_id = sub.view, sub.user_id
    meta = DeclareModalMeta.decode(sub.metadata)
    tz = zone(meta.zone, default=deps.settings.env.timezone)
    # The modal was opened in the user's language, which it carries (no lookup before the ack).
    lang: Lang = meta.lang or deps.channel_language
    errors: dict[str, str] = {}
    title = _text(view, Block.TITLE, Field.TITLE, MAX_TITLE, errors, lang)
    if not title:
        errors[Block.TITLE] = t("views.title_missing", lang)
    severity = state_value(view, Block.SEVERITY, Field.SEVERITY)
    if severity not in deps.severities:
        errors[Block.SEVERITY] = t("views.choose_severity", lang, codes=", ".join(deps.severities))
    services_text = _text(view, Block.SERVICES, Field.SERVICES, MAX_SERVICES, errors, lang)
    summary = _text(view, Block.SUMMARY, Field.SUMMARY, MAX_TEXT, errors, lang)
    detected = _time(view, Block.DETECTED, Field.DETECTED, tz, errors, lang)
    shape = deps.shape
    incident_type = state_value(view, Block.TYPE, Field.TYPE) if len(shape.types) > 1 else None
    if incident_type is not None and incident_type not in shape.types:
        errors[Block.TYPE] = t("views.choose_type", lang, types=", ".join(shape.types))
    fields = _custom_fields(view, shape, errors, lang)
    for spec in shape.missing(Required.DECLARE, fields):
        errors[field_block(spec.name)] = t("views.field_required", lang)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    await deps.turns.after_ack()
    services = [s for s in services_text.split(",") if s.strip()]
    private = "private" in (state_value(view, Block.PRIVATE, Field.PRIVATE) or [])
    try:
        setup = await deps.service.declare(
            title=title,
            severity=severity,
            actor=user_id,
            summary=summary,
            services=services,
            private=private,
            detected_at=detected,
            incident_type=incident_type,
            fields=fields,
            request_key=f"view:{sub.view_id}",
            team_id=sub.team_id,
        )
    except IncidentError as exc:
        await _tell(deps, user_id, meta.channel_id, error_text(exc, lang))
        return
    said = declared_reply(setup.incident, setup.missing, lang=lang)
    await _tell(deps, user_id, "" if private else meta.channel_id, said)


async def note_submitted(deps: Deps, ack: AsyncAck, body: dict[str, Any]) -> None:
    """The note modal: adds the note to the timeline."""
    sub = Submission.decode(body)
    if sub is None:
        await ack()
        return
    view, user_id = sub.view, sub.user_id
    errors: dict[str, str] = {}
    tz, lang = await deps.user_prefs(user_id, within=PRE_ACK_LOOKUP)
    text = _text(view, Block.NOTE_TEXT, Field.NOTE_TEXT, MAX_TEXT, errors, lang)
    if not text:
        errors[Block.NOTE_TEXT] = t("views.note_missing", lang)
    at = _time(view, Block.NOTE_AT, Field.NOTE_AT, tz, errors, lang)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    await deps.turns.after_ack()
    try:
        incident_id = await _visible_incident(deps, sub)
        await deps.service.add_note(incident_id=incident_id, text=text, actor=user_id, at=at)
    except IncidentError as exc:
        await _tell(deps, user_id, "", error_text(exc, lang))


async def entry_edited(deps: Deps, ack: AsyncAck, body: dict[str, Any]) -> None:
    """The modal that corrects a timeline entry: its new text and time, or its deletion."""
    sub = Submission.decode(body)
    if sub is None:
        await ack()
        return
    view, user_id = sub.view, sub.user_id
    meta = EntryModalMeta.decode(sub.metadata)
    tz = zone(meta.zone if meta else None, default=deps.settings.env.timezone)
    # The time was shown in the zone the modal carries; the answer goes in the submitter's language.
    _, lang = await deps.user_prefs(user_id, within=PRE_ACK_LOOKUP)
    errors: dict[str, str] = {}
    delete = "delete" in (state_value(view, Block.ENTRY_DELETE, Field.ENTRY_DELETE) or [])
    text: str | None = _text(view, Block.ENTRY_TEXT, Field.ENTRY_TEXT, MAX_TEXT, errors, lang)
    if not text and not delete:
        errors[Block.ENTRY_TEXT] = t("errors.entry_text_missing", lang)
    at: datetime | None = None
    shown_at = meta.at_text if meta else None
    if _text(view, Block.ENTRY_AT, Field.ENTRY_AT, MAX_TIME_TEXT, errors, lang) != shown_at:
        at = _time(view, Block.ENTRY_AT, Field.ENTRY_AT, tz, errors, lang)
        if at is None and Block.ENTRY_AT not in errors:
            errors[Block.ENTRY_AT] = t("time.missing", lang)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    await deps.turns.after_ack()
    if meta is None:
        await _tell(deps, user_id, "", error_text(IncidentError(Msg("errors.form_out_of_date")), lang))
        return
    if text is not None and meta.shows_text(text):
        text = None  # as it was shown
    incident_id = meta.incident_id
    try:
        edit = await deps.service.edit_entry(
            incident_id=incident_id, entry_id=meta.entry_id, actor=user_id, text=text, at=at, delete=delete
        )
    except IncidentError as exc:
        await _tell(deps, user_id, "", error_text(exc, lang))
        return
    if edit.deleted:
        said = t("slack.entry_modal.deleted", lang, id=incident_id)
    elif edit.moved is not None:
        milestone = t(f"milestones.{edit.moved}", lang)
        when = slack_time(edit.entry.at, lang)
        said = t("slack.entry_modal.moved", lang, id=incident_id, milestone=milestone, when=when)
    elif text is None and at is None:
        said = t("slack.entry_modal.unchanged", lang, id=incident_id)
    else:
        said = t("slack.entry_modal.saved", lang, id=incident_id)
    await _tell(deps, user_id, meta.channel_id, said)


async def resolve_submitted(deps: Deps, ack: AsyncAck, body: dict[str, Any]) -> None:
    """The resolve modal: resolves with the reviewed milestones and the fields; asks to confirm past open
    required checklist items, and whether to update the status page."""
    sub = Submission.decode(body)
    if sub is None:
        await ack()
        return
    view, user_id = sub.view, sub.user_id
    errors: dict[str, str] = {}
    tz, lang = await deps.user_prefs(user_id, within=PRE_ACK_LOOKUP)
    summary = _text(view, Block.RESOLVE_SUMMARY, Field.RESOLVE_SUMMARY, MAX_TEXT, errors, lang)
    at = _time(view, Block.RESOLVE_AT, Field.RESOLVE_AT, tz, errors, lang)
    reviewed = {
        milestone: _time(view, block, field, tz, errors, lang)
        for milestone, (block, field) in REVIEW_INPUTS.items()
    }
    fields = _custom_fields(view, deps.shape, errors, lang)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    await deps.turns.after_ack()
    filled = {milestone: when for milestone, when in reviewed.items() if when is not None}
    try:
        incident_id = await _visible_incident(deps, sub)
        snap = await deps.service.resolve(
            incident_id=incident_id,
            actor=user_id,
            at=at,
            summary=summary,
            milestones=filled,
            fields=fields,
        )
        confirm = await statuspage_confirmation(
            deps, incident_id=incident_id, status=Status.RESOLVED, message=summary, lang=lang
        )
        if isinstance(confirm, list) and snap.channel_id:
            text = t("slack.statuspage.fallback", lang, id=incident_id)
            await _tell(deps, user_id, snap.channel_id, text, extra_blocks=confirm)
        problems = snap.milestones.out_of_order()
        if problems:  # nothing is forced; the resolver hears what stats will flag
            pairs = order_pairs(problems, lang)
            said = t("slack.resolve_modal.resolved_out_of_order", lang, id=incident_id, pairs=pairs)
            await _tell(deps, user_id, snap.channel_id or "", said)
    except RequiredItemsOpen as exc:
        snap = await deps.service.snapshot(incident_id=incident_id, timeline=False)
        gate = gate_blocks(incident_id=incident_id, items=exc.items, summary=summary, at=at, lang=lang)
        if snap.channel_id:
            # The fallback names the items too, so it is user text as much as the blocks are.
            await _tell(deps, user_id, snap.channel_id, user_text(exc.text(lang)), extra_blocks=gate)
    except IncidentError as exc:
        await deps.gateway.post_direct(user_id=user_id, text=error_text(exc, lang))
