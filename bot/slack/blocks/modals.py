"""The modals: declare (with the record's type and fields), note, resolve (with its review), entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
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
from bot.incidents.fields import (
    MAX_FIELD_TEXT,
    FieldKind,
    FieldSpec,
    RecordShape,
)
from bot.incidents.model import (
    FieldValue,
    Milestone,
    Milestones,
    TimelineEntry,
)
from bot.slack.blocks.mrkdwn import plain, severity_options, slack_time
from bot.slack.ids import Block as BlockId
from bot.slack.ids import Field, View
from bot.slack.payloads import (
    DeclareModalMeta,
    EntryModalMeta,
    IncidentRef,
)
from bot.slack.text import MAX_SERVICES, MAX_TEXT, MAX_TIME_TEXT, MAX_TITLE


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
    options = severity_options(severities)
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
    options = [Option(text=plain(name, 75), value=name) for name in shape.types]
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
            options = [Option(text=plain(choice, 75), value=choice) for choice in spec.choices]
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
