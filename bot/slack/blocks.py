"""Pure Block Kit builders: domain values in, validated Slack blocks and views out."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View as SlackView

from bot.i18n import Lang, t
from bot.incidents.errors import ChatError, IncidentError
from bot.incidents.escaping import escape_mrkdwn, plain_excerpt, without_invisible
from bot.incidents.fields import (
    MAX_FIELD_TEXT,
    FieldKind,
    FieldSpec,
    RecordShape,
    ordered_fields,
    shown_value,
)
from bot.incidents.model import (
    DEFAULT_TYPE,
    SETTABLE_STATUSES,
    FieldValue,
    IncidentSnapshot,
    Milestone,
    Milestones,
    Status,
    TimelineEntry,
)
from bot.incidents.reminders import Reminder, ReminderKind
from bot.incidents.times import format_local
from bot.slack.ids import Action, Field, View
from bot.slack.ids import Block as BlockId
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
)
from bot.slack.text import MAX_SERVICES, MAX_TEXT, MAX_TIME_TEXT, MAX_TITLE

MAX_MESSAGE_BLOCKS = 50
MAX_SECTION_FIELDS = 10  # Slack's limit of fields in a section
MAX_VIEW_BLOCKS = 100
SECTION_TEXT_LIMIT = 3000
# A user mention that survived escaping (`&lt;@U123|name&gt;`) is put back: pinging a person someone named is
# intended; `<!channel>`, `<!here>` and `<!subteam^…>` are never put back.
_SAFE_MENTION = re.compile(r"&lt;([@#][UWC][A-Z0-9]{2,})(\|[^&|]{0,80})?&gt;")
STATUS_EMOJI = {
    Status.INVESTIGATING: ":mag:",
    Status.IDENTIFIED: ":bulb:",
    Status.MONITORING: ":eyes:",
    Status.RESOLVED: ":white_check_mark:",
    Status.CLOSED: ":lock:",
}


def user_text(text: str, *, limit: int = SECTION_TEXT_LIMIT) -> str:
    """Untrusted text as safe mrkdwn: escaped, with plain user/channel mentions kept, within a length."""
    escaped = _SAFE_MENTION.sub(lambda m: f"<{m.group(1)}>", escape_mrkdwn(text))
    return escaped if len(escaped) <= limit else escaped[: safe_cut(escaped, limit - 1)] + "…"


_FENCE = "```"
# Where a cut must not fall: inside an entity (`&amp;`), a `<…>` mention, link or date, or a code fence.
_UNCUTTABLE = re.compile(r"&[a-z]{1,6};|<[^<>\n]{1,400}>|`{3}")


def safe_cut(text: str, at: int) -> int:
    """Where to cut mrkdwn `text` to keep at most `at` characters: after the last space or line break in the
    second half, never inside an entity, a `<…>` token or a code fence (0 when nothing fits)."""
    if at >= len(text):
        return len(text)
    for token in _UNCUTTABLE.finditer(text, max(0, at - 402), at + 402):
        if token.start() < at < token.end():
            at = token.start()
            break
    space = max(text.rfind(" ", 0, at + 1), text.rfind("\n", 0, at + 1))
    return space + 1 if space >= at // 2 and space + 1 <= at else at


def split_mrkdwn(text: str, *, limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """mrkdwn text in pieces of at most `limit` characters, in order: cut between lines where it can, else
    at a safe_cut; a code block cut in two is closed at the end of one piece and opened again at the start of
    the next, so every piece reads on its own. The one way Hashi splits a long answer."""
    if not text:
        return []
    pieces: list[str] = []
    piece, inside, fresh = "", False, True  # fresh: nothing but a reopened fence in the piece yet

    def flush() -> None:
        nonlocal piece, fresh
        if not fresh and piece.strip():  # blank lines alone make no section (Slack refuses an empty one)
            pieces.append(piece + (_FENCE if inside else ""))
        piece, fresh = (_FENCE if inside else ""), True

    for line in text.split("\n"):
        while True:
            joint = "" if fresh else "\n"
            after = inside != (line.count(_FENCE) % 2 == 1)
            if len(piece) + len(joint) + len(line) + (len(_FENCE) if after else 0) <= limit:
                piece, inside, fresh = piece + joint + line, after, False
                break
            if not fresh:
                flush()
                continue
            cut = safe_cut(line, limit - len(piece) - len(_FENCE)) or limit - len(piece) - len(_FENCE)
            head, line = line[:cut], line[cut:]
            piece, inside, fresh = piece + head, inside != (head.count(_FENCE) % 2 == 1), False
            flush()
    flush()
    return pieces


def status_label(status: Status, lang: Lang) -> str:
    """`Investigating` / `調査中`."""
    return t(f"status.{status.value}", lang)


def slack_time(dt: datetime | None, lang: Lang) -> str:
    """A time Slack shows in each reader's own time zone, with the date (`<!date^…>`); the fallback (for
    clients that cannot) is UTC in the language's own way of writing dates."""
    if dt is None:
        return "—"
    fallback = format_local(dt, UTC, lang)
    return t("slack.date_token", lang, ts=int(dt.timestamp()), fallback=fallback)


def error_text(error: IncidentError, lang: Lang) -> str:
    """Why a request was refused, in the reader's language, as safe mrkdwn."""
    return t("commands.error", lang, message=user_text(error.text(lang)))


def slack_refused_text(error: ChatError, lang: Lang) -> str:
    """Which step Slack refused, and why, as safe mrkdwn."""
    return t("commands.slack_refused", lang, step=error.step, reason=user_text(error.reason))


def steps_text(steps: Sequence[str], lang: Lang) -> str:
    """The set-up steps Slack could not do, in words (`pin` → `pinning the card`)."""
    return t("list.separator", lang).join(t(f"steps.{step}", lang) for step in steps)


def mention(user_id: str | None, lang: Lang) -> str:
    """A Slack user mention, or a placeholder."""
    return f"<@{user_id}>" if user_id else t("slack.unassigned", lang)


def incident_ref(incident: IncidentSnapshot) -> str:
    """`INC-12`."""
    return f"INC-{incident.id}"


def _plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=plain_excerpt(text, limit) or " ", emoji=True)


def _severity_options(severities: Sequence[str]) -> list[Option]:
    return [Option(text=PlainTextObject(text=code), value=code) for code in severities]


def _status_options(lang: Lang) -> list[Option]:
    return [
        Option(text=PlainTextObject(text=status_label(s, lang)), value=s.value) for s in SETTABLE_STATUSES
    ]


def card_text(incident: IncidentSnapshot) -> str:
    """The notification fallback of the incident card."""
    return f"{incident_ref(incident)} [{incident.severity}] {user_text(plain_excerpt(incident.title, 150))}"


def web_link(incident: IncidentSnapshot, public_url: str, lang: Lang) -> str:
    """A mrkdwn link to the incident's page on the web dashboard (HASHI_PUBLIC_URL)."""
    return f"<{public_url}/incidents/{incident.id}|{t('slack.card.web', lang)}>"


def card_blocks(
    incident: IncidentSnapshot,
    *,
    severities: Sequence[str],
    lang: Lang,
    shape: RecordShape | None = None,
    public_url: str | None = None,
) -> list[dict[str, Any]]:
    """The pinned incident card: what, how bad, who leads, where it stands, its type and custom fields, and
    buttons to move it (and a link to its page on the web dashboard when there is one)."""
    m = incident.milestones

    def field(name: str, value: str) -> MarkdownTextObject:
        return MarkdownTextObject(text=f"*{t(f'slack.card.{name}', lang)}*\n{value}")

    status = f"{STATUS_EMOJI[incident.status]} {status_label(incident.status, lang)}"
    fields = [
        field("severity", escape_mrkdwn(incident.severity)),
        field("status", status),
        field("lead", mention(incident.lead, lang)),
        field("declared", slack_time(m.declared_at, lang)),
    ]
    if incident.services:
        fields.append(field("services", user_text(", ".join(incident.services), limit=1900)))
    if incident.private:
        fields.append(field("visibility", t("slack.card.private", lang)))
    if (shape is not None and len(shape.types) > 1) or incident.incident_type != DEFAULT_TYPE:
        fields.append(field("type", escape_mrkdwn(incident.incident_type)))
    for name, spec, value in ordered_fields(shape.fields if shape else (), incident.fields):
        label = escape_mrkdwn(spec.label(lang) if spec else name)
        fields.append(
            MarkdownTextObject(text=f"*{label}*\n{user_text(shown_value(spec, value), limit=1900)}")
        )
    fields = fields[:MAX_SECTION_FIELDS]
    blocks: list[Block] = [
        HeaderBlock(text=_plain(f"{incident_ref(incident)} · {incident.title}", 150)),
        SectionBlock(fields=fields),
    ]
    if incident.summary:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=user_text(incident.summary))))
    reached = [
        ("impact_started", m.impact_started_at),
        ("detected", m.detected_at),
        ("acknowledged", m.acknowledged_at),
        ("mitigated", m.mitigated_at),
        ("resolved", m.resolved_at),
    ]
    line = " · ".join(
        f"{t(f'slack.card.{name}', lang)} {slack_time(at, lang)}" for name, at in reached if at is not None
    )
    if line:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line)]))
    progress = checklist_progress(incident, lang)
    if progress:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=progress)]))
    paging = paging_line(incident, lang)
    if paging:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=paging)]))
    if public_url:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=web_link(incident, public_url, lang))]))
    blocks.append(
        ActionsBlock(block_id=BlockId.CARD_ACTIONS, elements=card_buttons(incident, severities, lang))
    )
    return [b.to_dict() for b in blocks]


def checklist_progress(incident: IncidentSnapshot, lang: Lang) -> str:
    """`:ballot_box_with_check: triage 3/7` per playbook, or an empty string."""
    by_playbook: dict[str, list[bool]] = {}
    for item in incident.checklists:
        by_playbook.setdefault(item.playbook, []).append(item.done)
    parts = [f"{escape_mrkdwn(name)} {sum(done)}/{len(done)}" for name, done in by_playbook.items()]
    return t("slack.card.checklists", lang, progress=" · ".join(parts)) if parts else ""


def card_buttons(incident: IncidentSnapshot, severities: Sequence[str], lang: Lang) -> list[Any]:
    """The card's actions for the incident's current state."""
    value = IncidentRef(incident.id).encode()

    def label(name: str) -> str:
        return t(f"slack.button.{name}", lang)

    export = ButtonElement(text=label("export"), action_id=Action.EXPORT, value=value)
    if not incident.status.is_open:
        buttons: list[Any] = [export]
        if incident.status is Status.RESOLVED:
            buttons.insert(0, ButtonElement(text=label("reopen"), action_id=Action.REOPEN, value=value))
        return buttons
    buttons = []
    if incident.milestones.acknowledged_at is None:
        buttons.append(ButtonElement(text=label("ack"), action_id=Action.ACK, value=value, style="primary"))
    buttons += [
        StaticSelectElement(
            action_id=Action.SEVERITY,
            placeholder=PlainTextObject(text=label("severity")),
            options=_severity_options(severities),
        ),
        StaticSelectElement(
            action_id=Action.STATUS,
            placeholder=PlainTextObject(text=label("status")),
            options=_status_options(lang),
        ),
        ButtonElement(text=label("note"), action_id=Action.NOTE, value=value),
        ButtonElement(text=label("resolve"), action_id=Action.RESOLVE, value=value, style="danger"),
        export,
    ]
    return buttons


def paging_line(incident: IncidentSnapshot, lang: Lang) -> str:
    """The card's line about PagerDuty: the pages that went out, and any that failed or are being retried."""
    if not incident.pages:
        return ""
    triggers = [p for p in incident.pages if p.action == "trigger"]
    sent = sum(1 for p in triggers if p.status == "sent")
    parts = [t("slack.card.pages_sent", lang, count=sent)] if sent else []
    for page in incident.pages:
        if page.error and page.status != "sent":
            key = "slack.card.page_failed" if page.status == "failed" else "slack.card.page_retrying"
            parts.append(
                t(key, lang, action=page.action, error=escape_mrkdwn(plain_excerpt(page.error, 200)))
            )
    return " · ".join(parts)


def change_text(incident: IncidentSnapshot, change: TimelineEntry, lang: Lang) -> str:
    """The short line posted in the channel for one change."""
    who = f"<@{change.actor}> " if change.actor else ""
    backdated = ""
    if abs((change.recorded_at - change.at).total_seconds()) > 120:
        backdated = t("slack.backdated", lang, at=slack_time(change.at, lang))
    return f"*{incident_ref(incident)}* · {who}{user_text(change.text_in(lang), limit=2800)}{backdated}"


def topic_text(incident: IncidentSnapshot, lang: Lang) -> str:
    """The channel topic (Slack allows 250 characters; plain text, so nothing can be pinged)."""
    lead = t("slack.topic_lead", lang, user=incident.lead) if incident.lead else ""
    head = f"{escape_mrkdwn(incident.severity)} · {status_label(incident.status, lang)}{lead} · "
    return head + plain_excerpt(escape_mrkdwn(incident.title), 250 - len(head))


def reminder_text(incident: IncidentSnapshot, reminder: Reminder, lang: Lang) -> str:
    """The text of a scheduled reminder: who it is for, what is due, how to do it."""
    who = "".join(f"<@{user}> " for user in reminder.mentions)
    ref = incident_ref(incident)
    if reminder.kind is ReminderKind.STATUS_UPDATE:
        return who + t("slack.reminder.status_update", lang, ref=ref)
    if reminder.kind is ReminderKind.STATUS_OVERDUE:
        return who + t("slack.reminder.status_overdue", lang, ref=ref)
    # Slack takes 40,000 characters in a message; a checklist's titles (300 each) stay far below that.
    titles = "".join(f"\n• {user_text(title, limit=300)}" for title in reminder.titles)
    return who + t("slack.reminder.item_due", lang, ref=ref, title=titles)


def announcement_blocks(incident: IncidentSnapshot, lang: Lang) -> list[dict[str, Any]]:
    """The announcement of a new (public) incident."""
    channel = f"<#{incident.channel_id}>" if incident.channel_id else t("slack.no_channel_yet", lang)
    text = t(
        "slack.announcement",
        lang,
        ref=incident_ref(incident),
        severity=escape_mrkdwn(incident.severity),
        title=user_text(incident.title, limit=500),
        by=mention(incident.declared_by, lang) if incident.declared_by else t("slack.by_alert", lang),
        channel=channel,
    )
    return [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]


def _input(
    block_id: str, label: str, element: Any, *, optional: bool = False, hint: str | None = None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        element=element,
        optional=optional,
        hint=PlainTextObject(text=hint) if hint else None,
    )


def declare_modal(
    *,
    severities: Sequence[str],
    default_severity: str,
    lang: Lang,
    meta: DeclareModalMeta | None = None,
    shape: RecordShape | None = None,
    title: str = "",
    incident_type: str | None = None,
) -> dict[str, Any]:
    """The declare modal: title, severity, type (when the team has several), services, summary, private,
    detected at, then the team's custom fields; `meta` says where and by whom it was opened, `title` and
    `incident_type` fill it in (a quick declaration that lacks a required field)."""
    shape = shape or RecordShape()
    options = _severity_options(severities)
    initial = next((o for o in options if o.value == default_severity), options[0])

    def say(name: str) -> str:
        return t(f"slack.declare_modal.{name}", lang)

    view = SlackView(
        type="modal",
        callback_id=View.DECLARE,
        private_metadata=meta.encode() if meta else "",
        title=PlainTextObject(text=say("title")),
        submit=PlainTextObject(text=say("submit")),
        close=PlainTextObject(text=t("slack.modal_cancel", lang)),
        blocks=[
            _input(
                BlockId.TITLE,
                say("title_label"),
                PlainTextInputElement(
                    action_id=Field.TITLE, max_length=MAX_TITLE, initial_value=title or None
                ),
            ),
            _input(
                BlockId.SEVERITY,
                say("severity"),
                StaticSelectElement(action_id=Field.SEVERITY, options=options, initial_option=initial),
            ),
            *_type_input(shape, lang, chosen=incident_type),
            _input(
                BlockId.SERVICES,
                say("services"),
                PlainTextInputElement(action_id=Field.SERVICES, max_length=MAX_SERVICES),
                optional=True,
                hint=say("services_hint"),
            ),
            _input(
                BlockId.SUMMARY,
                say("summary"),
                PlainTextInputElement(action_id=Field.SUMMARY, multiline=True, max_length=MAX_TEXT),
                optional=True,
            ),
            _input(
                BlockId.PRIVATE,
                say("visibility"),
                CheckboxesElement(
                    action_id=Field.PRIVATE,
                    options=[Option(text=PlainTextObject(text=say("private")), value="private")],
                ),
                optional=True,
            ),
            _input(
                BlockId.DETECTED,
                say("detected"),
                PlainTextInputElement(action_id=Field.DETECTED, max_length=MAX_TIME_TEXT),
                optional=True,
                hint=t("slack.time_hint", lang),
            ),
            *field_inputs(shape.fields, {}, lang, required=("declare",)),
        ],
    )
    return view.to_dict()


def _type_input(shape: RecordShape, lang: Lang, *, chosen: str | None = None) -> list[InputBlock]:
    """The type select of the declare modal, with the default (or `chosen`) chosen; none when the team has
    one type."""
    if len(shape.types) < 2:
        return []
    options = [Option(text=_plain(name, 75), value=name) for name in shape.types]
    initial = next((o for o in options if o.value == (chosen or shape.default_type)), options[0])
    element = StaticSelectElement(action_id=Field.TYPE, options=options, initial_option=initial)
    return [_input(BlockId.TYPE, t("slack.declare_modal.type", lang), element)]


def field_block(name: str) -> str:
    """The block_id of a custom field's input."""
    return f"{BlockId.CUSTOM_FIELD}{name}"


def field_inputs(
    fields: Sequence[FieldSpec], values: Mapping[str, FieldValue], lang: Lang, *, required: Sequence[str]
) -> list[InputBlock]:
    """An input per custom field, filled with its value; a field required at one of `required` (declare,
    resolve) must be filled."""
    inputs = []
    for spec in fields:
        value = values.get(spec.name)
        element: Any
        if spec.kind is FieldKind.SELECT:
            options = [Option(text=_plain(choice, 75), value=choice) for choice in spec.choices]
            chosen = next((o for o in options if o.value == value), None)
            element = StaticSelectElement(action_id=Field.CUSTOM, options=options, initial_option=chosen)
        elif spec.kind is FieldKind.USER:
            element = UserSelectElement(action_id=Field.CUSTOM, initial_user=str(value) if value else None)
        else:
            element = PlainTextInputElement(
                action_id=Field.CUSTOM,
                max_length=MAX_FIELD_TEXT,
                initial_value=None if value is None else str(value),
            )
        hint = t("slack.field_number_hint", lang) if spec.kind is FieldKind.NUMBER else None
        needed = spec.required is not None and spec.required.value in required
        inputs.append(
            _input(
                field_block(spec.name),
                spec.label(lang)[:2000],
                element,
                optional=not needed,
                hint=hint,
            )
        )
    return inputs


def _text_and_time_modal(
    *,
    callback_id: str,
    incident_id: int,
    title: str,
    submit: str,
    text: tuple[str, str, str, bool],
    at: tuple[str, str, str],
    lang: Lang,
    more: Sequence[Block] = (),
) -> dict[str, Any]:
    """A modal asking for some text and when it happened, then `more` inputs; `text` is (block, action,
    label, optional)."""
    text_block, text_action, text_label, text_optional = text
    at_block, at_action, at_label = at
    view = SlackView(
        type="modal",
        callback_id=callback_id,
        private_metadata=IncidentRef(incident_id).encode(),
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text=submit),
        blocks=[
            _input(
                text_block,
                text_label,
                PlainTextInputElement(action_id=text_action, multiline=True, max_length=MAX_TEXT),
                optional=text_optional,
            ),
            _input(
                at_block,
                at_label,
                PlainTextInputElement(action_id=at_action, max_length=MAX_TIME_TEXT),
                optional=True,
                hint=t("slack.time_hint", lang),
            ),
            *more,
        ],
    )
    return view.to_dict()


def note_modal(*, incident_id: int, lang: Lang) -> dict[str, Any]:
    """The add-note modal (text and an optional time)."""
    return _text_and_time_modal(
        callback_id=View.NOTE,
        incident_id=incident_id,
        title=t("slack.note_modal.title", lang, id=incident_id),
        submit=t("slack.note_modal.submit", lang),
        text=(BlockId.NOTE_TEXT, Field.NOTE_TEXT, t("slack.note_modal.text", lang), False),
        at=(BlockId.NOTE_AT, Field.NOTE_AT, t("slack.note_modal.at", lang)),
        lang=lang,
    )


# The resolve modal's review: a missing milestone's input (block, action).
REVIEW_INPUTS: dict[Milestone, tuple[str, str]] = {
    Milestone.IMPACT_STARTED: (BlockId.RESOLVE_IMPACT, Field.RESOLVE_IMPACT),
    Milestone.DETECTED: (BlockId.RESOLVE_DETECTED, Field.RESOLVE_DETECTED),
    Milestone.MITIGATED: (BlockId.RESOLVE_MITIGATED, Field.RESOLVE_MITIGATED),
}


def resolve_modal(
    *,
    incident_id: int,
    lang: Lang,
    milestones: Milestones | None = None,
    fields: Sequence[FieldSpec] = (),
    values: Mapping[str, FieldValue] | None = None,
) -> dict[str, Any]:
    """The resolve modal (summary and an optional time), then the custom fields filled with their values
    (those required at declaration or resolve must be filled); with the incident's milestones, a review of
    them: each one recorded, an input for each missing impact start, detection and mitigation, and a warning
    when some lie out of order. Nothing is forced."""
    view = _text_and_time_modal(
        callback_id=View.RESOLVE,
        incident_id=incident_id,
        title=t("slack.resolve_modal.title", lang, id=incident_id),
        submit=t("slack.resolve_modal.submit", lang),
        text=(BlockId.RESOLVE_SUMMARY, Field.RESOLVE_SUMMARY, t("slack.resolve_modal.text", lang), True),
        at=(BlockId.RESOLVE_AT, Field.RESOLVE_AT, t("slack.resolve_modal.at", lang)),
        lang=lang,
        more=field_inputs(fields, values or {}, lang, required=("declare", "resolve")),
    )
    if milestones is None:
        return view
    recorded = [
        t(
            "slack.resolve_modal.milestone",
            lang,
            label=t(f"milestones.{name}", lang),
            when=slack_time(at, lang),
        )
        for name, at in milestones.as_dict().items()
        if at is not None
    ]
    review: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text="\n".join([t("slack.resolve_modal.review", lang), *recorded]))
        )
    ]
    problems = milestones.out_of_order()
    if problems:
        review.append(ContextBlock(elements=[MarkdownTextObject(text=order_warning(problems, lang))]))
    for milestone, (block_id, action_id) in REVIEW_INPUTS.items():
        if getattr(milestones, milestone.value) is None:
            review.append(
                _input(
                    block_id,
                    t(f"slack.resolve_modal.missing_{milestone.value}", lang),
                    PlainTextInputElement(action_id=action_id, max_length=MAX_TIME_TEXT),
                    optional=True,
                    hint=t("slack.time_hint", lang),
                )
            )
    view["blocks"] = [*view["blocks"], *(b.to_dict() for b in review)]
    return view


def order_pairs(problems: Sequence[tuple[Milestone, Milestone]], lang: Lang) -> str:
    """Which milestones lie the wrong way round, e.g. `Resolved before Mitigated`."""
    return t("list.separator", lang).join(
        t(
            "slack.resolve_modal.pair",
            lang,
            later=t(f"milestones.{a}", lang),
            earlier=t(f"milestones.{b}", lang),
        )
        for a, b in problems
    )


def order_warning(problems: Sequence[tuple[Milestone, Milestone]], lang: Lang) -> str:
    """The resolve modal's warning that some milestones lie out of order."""
    return t("slack.resolve_modal.out_of_order", lang, pairs=order_pairs(problems, lang))


def incident_line(incident: IncidentSnapshot, lang: Lang) -> str:
    """One incident in a list."""
    return t(
        "slack.list.line",
        lang,
        ref=incident_ref(incident),
        severity=escape_mrkdwn(incident.severity),
        status=status_label(incident.status, lang),
        lock=" :lock:" if incident.private else "",
        title=user_text(incident.title, limit=300),
        channel=f" · <#{incident.channel_id}>" if incident.channel_id else "",
        declared=slack_time(incident.milestones.declared_at, lang),
    )


TIMELINE_PAGE_SIZE = 10  # entries a `/incident timeline` page shows, each with its Edit button


def entry_line(entry: TimelineEntry, lang: Lang) -> str:
    """One timeline entry in the `/incident timeline` list: when (in the reader's zone), who, what."""
    return t(
        "slack.timeline.line",
        lang,
        when=slack_time(entry.at, lang),
        who=t("slack.timeline.by", lang, user=entry.actor) if entry.actor else "",
        text=user_text(entry.text_in(lang), limit=600),
        edited=t("slack.timeline.edited", lang) if entry.edited_at is not None else "",
    )


def timeline_blocks(
    entries: Sequence[TimelineEntry], *, incident_id: int, page: Page, lang: Lang
) -> list[dict[str, Any]]:
    """One page of an incident's timeline, latest first, an Edit button beside each (stored) entry."""
    if not page.total:
        text = t("slack.timeline.empty", lang, id=incident_id)
        return [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
    header = t("slack.timeline.header", lang, id=incident_id, count=page.total)
    blocks: list[Block] = [HeaderBlock(text=_plain(header, 150))]
    for entry in entries[: page.size]:
        button = (
            ButtonElement(
                text=t("slack.timeline.edit", lang),
                action_id=Action.TIMELINE_EDIT,
                value=EntryEditButton(incident_id, entry.id).encode(),
            )
            if entry.id is not None
            else None
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=entry_line(entry, lang)), accessory=button))
    blocks += _page_buttons(
        page,
        action_id=Action.TIMELINE_PAGE,
        value=lambda number: TimelinePageButton(incident_id, number).encode(),
        where="slack.timeline.page",
        lang=lang,
    )
    return [b.to_dict() for b in blocks]


def entry_modal(
    entry: TimelineEntry,
    *,
    milestone: str | None,
    deletable: bool,
    meta: EntryModalMeta,
    lang: Lang,
) -> dict[str, Any]:
    """The modal that corrects a timeline entry: its text and its time (as `meta` shows it, in its zone), or
    deletes it (when `deletable`: not a milestone's or a severity change)."""

    def say(name: str, **params: object) -> str:
        return t(f"slack.entry_modal.{name}", lang, **params)

    inputs: list[Block] = []
    if milestone is not None:
        text = say("milestone", milestone=t(f"milestones.{milestone}", lang))
        inputs.append(SectionBlock(text=MarkdownTextObject(text=text)))
    inputs += [
        _input(
            BlockId.ENTRY_TEXT,
            say("text"),
            PlainTextInputElement(
                action_id=Field.ENTRY_TEXT,
                multiline=True,
                max_length=MAX_TEXT,
                initial_value=entry.text_in(lang)[:MAX_TEXT],
            ),
        ),
        _input(
            BlockId.ENTRY_AT,
            say("at"),
            PlainTextInputElement(
                action_id=Field.ENTRY_AT, max_length=MAX_TIME_TEXT, initial_value=meta.at_text
            ),
            hint=say("at_hint", zone=meta.zone),
        ),
    ]
    if deletable:
        inputs.append(
            _input(
                BlockId.ENTRY_DELETE,
                say("delete"),
                CheckboxesElement(
                    action_id=Field.ENTRY_DELETE,
                    options=[
                        Option(
                            text=PlainTextObject(text=say("delete")),
                            value="delete",
                            description=PlainTextObject(text=say("delete_hint")),
                        )
                    ],
                ),
                optional=True,
            )
        )
    view = SlackView(
        type="modal",
        callback_id=View.ENTRY,
        private_metadata=meta.encode(),
        title=PlainTextObject(text=say("title")),
        submit=PlainTextObject(text=say("submit")),
        blocks=inputs,
    )
    return view.to_dict()


LIST_PAGE_SIZE = 20  # a message holds 50 blocks: a header, 20 incidents, the page line and the buttons
HOME_PAGE_SIZE = 40  # App Home holds 100


@dataclass(frozen=True)
class Page:
    """One page of a list: which page, how many per page, how many in all."""

    number: int
    size: int
    total: int

    @property
    def count(self) -> int:
        """How many pages there are."""
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        """Where the page starts."""
        return (self.number - 1) * self.size


def _page_buttons(
    page: Page, *, action_id: str, value: Callable[[int], str], where: str, lang: Lang
) -> list[Block]:
    """Which page this is and buttons to the newer and older ones (`value` encodes a page's number as its
    button's value); nothing when there is one page."""
    if page.count <= 1:
        return []
    buttons = []
    if page.number > 1:
        buttons.append(
            ButtonElement(
                text=t("slack.list.newer", lang),
                action_id=f"{action_id}_prev",
                value=value(page.number - 1),
            )
        )
    if page.number < page.count:
        buttons.append(
            ButtonElement(
                text=t("slack.list.older", lang),
                action_id=f"{action_id}_next",
                value=value(page.number + 1),
            )
        )
    text = t(where, lang, number=page.number, count=page.count)
    return [ContextBlock(elements=[MarkdownTextObject(text=text)]), ActionsBlock(elements=buttons)]


def list_blocks(
    incidents: Sequence[IncidentSnapshot],
    *,
    page: Page,
    action_id: str,
    lang: Lang,
    public_url: str | None = None,
) -> list[dict[str, Any]]:
    """One page of open incidents, newest first, with buttons to the other pages (and links to their web
    pages when the dashboard has an address)."""
    if not page.total:
        return [SectionBlock(text=MarkdownTextObject(text=t("slack.list.empty", lang))).to_dict()]
    blocks: list[Block] = [HeaderBlock(text=_plain(t("slack.list.header", lang, count=page.total), 150))]
    blocks += [
        SectionBlock(
            text=MarkdownTextObject(
                text=incident_line(i, lang) + (f" · {web_link(i, public_url, lang)}" if public_url else "")
            )
        )
        for i in incidents[: page.size]
    ]
    blocks += _page_buttons(
        page,
        action_id=action_id,
        value=lambda number: PageButton(number).encode(),
        where="slack.list.page",
        lang=lang,
    )
    return [b.to_dict() for b in blocks]


def home_view(
    incidents: Sequence[IncidentSnapshot], *, page: Page, lang: Lang, public_url: str | None = None
) -> dict[str, Any]:
    """App Home: open incidents the user may see (each linked to its web page when the dashboard has an
    address), and how to declare one."""
    intro = SectionBlock(
        text=MarkdownTextObject(text=t("slack.home.intro", lang)),
        accessory=ButtonElement(text=t("slack.home.declare", lang), action_id=Action.DECLARE, style="danger"),
    )
    blocks = [
        intro.to_dict(),
        DividerBlock().to_dict(),
        *list_blocks(incidents, page=page, action_id=Action.HOME_PAGE, lang=lang, public_url=public_url),
    ]
    return {"type": "home", "blocks": blocks}


MESSAGE_FALLBACK_LIMIT = 39_000  # Slack truncates a message's `text` past 40,000 characters


@dataclass(frozen=True)
class Message:
    """One message of an answer: its fallback text and its blocks."""

    text: str
    blocks: list[dict[str, Any]]


def text_messages(text: str) -> list[Message]:
    """A mrkdwn answer (already safe), whole, as messages of sections: split_mrkdwn's pieces, at most 50
    blocks and 39,000 characters of text a message."""
    out: list[Message] = []
    for piece in split_mrkdwn(text) or [" "]:
        section = SectionBlock(text=MarkdownTextObject(text=piece)).to_dict()
        last = out[-1] if out else None
        if (
            last
            and len(last.blocks) < MAX_MESSAGE_BLOCKS
            and len(last.text) + 1 + len(piece) <= MESSAGE_FALLBACK_LIMIT
        ):
            out[-1] = Message(text=f"{last.text}\n{piece}", blocks=[*last.blocks, section])
        else:
            out.append(Message(text=piece, blocks=[section]))
    return out


def answer_messages(answer: str | Sequence[dict[str, Any]], *, fallback: str) -> list[Message]:
    """A listener's answer (mrkdwn, or blocks with a fallback text) as the messages that carry it whole."""
    if isinstance(answer, str):
        return text_messages(answer)
    return [Message(text=fallback, blocks=group) for group in in_messages(answer)]


def in_messages(blocks: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Blocks in groups of at most 50, one group a message."""
    return [
        list(blocks[start : start + MAX_MESSAGE_BLOCKS])
        for start in range(0, len(blocks), MAX_MESSAGE_BLOCKS)
    ]


MAX_CHECKBOX_OPTIONS = 10


def checklist_blocks(incident: IncidentSnapshot, lang: Lang) -> list[dict[str, Any]]:
    """The incident's checklists as checkbox groups (Slack allows 10 options each, so long lists split),
    every item: more than a message holds goes over several (in_messages)."""
    if not incident.checklists:
        return text_messages(t("slack.checklist.none", lang, id=incident.id))[0].blocks
    by_playbook: dict[str, list[Any]] = {}
    for item in incident.checklists:
        by_playbook.setdefault(item.playbook, []).append(item)
    out: list[Block] = []
    for playbook, items in by_playbook.items():
        done = sum(i.done for i in items)
        heading = t(
            "slack.checklist.heading", lang, playbook=escape_mrkdwn(playbook), done=done, count=len(items)
        )
        out.append(SectionBlock(text=MarkdownTextObject(text=heading)))
        for start in range(0, len(items), MAX_CHECKBOX_OPTIONS):
            chunk = items[start : start + MAX_CHECKBOX_OPTIONS]
            options = [_checklist_option(i, lang) for i in chunk]
            initial = [o for o, i in zip(options, chunk, strict=True) if i.done]
            element = CheckboxesElement(
                action_id=Action.CHECKLIST, options=options, initial_options=initial or None
            )
            block_id = ChecklistBlock(incident.id, start, playbook).encode()
            out.append(ActionsBlock(block_id=block_id, elements=[element]))
    return [b.to_dict() for b in out]


def pinned_checklist_blocks(incident: IncidentSnapshot, lang: Lang) -> list[dict[str, Any]]:
    """The checklist message kept in the channel (one message, updated in place): every checkbox group
    that fits, and when more than one message would hold (hundreds of items), how many items it leaves to
    `/incident checklist`, which answers with all of them."""
    every = checklist_blocks(incident, lang)
    if len(every) <= MAX_MESSAGE_BLOCKS:
        return every
    kept = every[: MAX_MESSAGE_BLOCKS - 1]
    left = sum(len(e.get("options", ())) for b in every[len(kept) :] for e in b.get("elements", ()))
    more = SectionBlock(text=MarkdownTextObject(text=t("slack.checklist.more", lang, count=left)))
    return [*kept, more.to_dict()]


def _checklist_option(item: Any, lang: Lang) -> Option:
    gate = t("slack.checklist.required", lang) if item.required else ""
    who = f"✓ {item.done_by}" if item.done and item.done_by else ""
    return Option(
        text=PlainTextObject(text=plain_excerpt(item.title + gate, 75)),
        value=ChecklistOption(item.playbook, item.key).encode(),
        description=PlainTextObject(text=plain_excerpt(who, 75)) if who else None,
    )


BUTTON_VALUE_LIMIT = 2000  # Block Kit: a button's value is at most 2,000 characters


def statuspage_confirm_blocks(
    *, incident_id: int, status: str, message: str, lang: Lang
) -> list[dict[str, Any]]:
    """Asks the one who changed an incident's status to confirm the status page's update: their message,
    editable, and the button (its value: a StatuspageButton)."""
    text = t("slack.statuspage.confirm", lang, id=incident_id, status=status_label(Status(status), lang))
    message_input = InputBlock(
        block_id=BlockId.STATUSPAGE_MESSAGE,
        label=PlainTextObject(text=t("slack.statuspage.message", lang)),
        element=PlainTextInputElement(
            action_id=Field.STATUSPAGE_MESSAGE,
            multiline=True,
            max_length=MAX_TEXT,
            initial_value=without_invisible(message)[:MAX_TEXT] or None,
        ),
    )
    button = ButtonElement(
        text=t("slack.statuspage.button", lang),
        action_id=Action.STATUSPAGE_UPDATE,
        value=StatuspageButton(incident_id, Status(status)).encode(),
        style="primary",
    )
    return [
        SectionBlock(text=MarkdownTextObject(text=text)).to_dict(),
        message_input.to_dict(),
        ActionsBlock(elements=[button]).to_dict(),
    ]


def gate_blocks(
    *, incident_id: int, items: Sequence[str], summary: str, at: datetime | None, lang: Lang
) -> list[dict[str, Any]]:
    """Asks to confirm a resolve that would leave required checklist items open: every item, over as many
    sections as it takes (a list too long for one message ends with how many more there are)."""
    listed = [f"• {user_text(title, limit=300)}" for title in items]
    shown = len(listed)
    while True:
        more = [t("slack.gate.more", lang, count=len(listed) - shown)] if shown < len(listed) else []
        text = t("slack.gate.text", lang, id=incident_id, items="\n".join(listed[:shown] + more))
        sections = split_mrkdwn(text)
        if len(sections) <= MAX_MESSAGE_BLOCKS - 2:  # the summary's input and the button follow
            break
        shown -= max(1, shown // 10)
    button = ButtonElement(
        text=t("slack.gate.button", lang),
        action_id=Action.RESOLVE_ANYWAY,
        value=ResolveAnywayButton(incident_id, at).encode(),
        style="danger",
    )
    summary_input = InputBlock(
        block_id=BlockId.GATE_SUMMARY,
        label=PlainTextObject(text=t("slack.gate.summary", lang)),
        element=PlainTextInputElement(
            action_id=Field.GATE_SUMMARY,
            multiline=True,
            max_length=MAX_TEXT,
            initial_value=without_invisible(summary)[:MAX_TEXT] or None,
        ),
        optional=True,
    )
    return [
        *(SectionBlock(text=MarkdownTextObject(text=section)).to_dict() for section in sections),
        summary_input.to_dict(),
        ActionsBlock(elements=[button]).to_dict(),
    ]
