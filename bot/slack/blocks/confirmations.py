"""Confirmations before an effect: the status page's update, and a gate's questions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)

from bot.i18n import Lang, t
from bot.incidents.escaping import without_invisible
from bot.incidents.model import (
    Status,
)
from bot.slack.blocks.mrkdwn import MAX_MESSAGE_BLOCKS, split_mrkdwn, status_label, user_text
from bot.slack.ids import Action, Field
from bot.slack.ids import Block as BlockId
from bot.slack.payloads import (
    ResolveAnywayButton,
    StatuspageButton,
)
from bot.slack.text import MAX_TEXT

BUTTON_VALUE_LIMIT = 2000  # Block Kit: a button's value is at most 2,000 characters


def statuspage_confirm_blocks(
    *, incident_id: int, status: str, message: str, lang: Lang
) -> list[dict[str, Any]]:
    """Asks the one who changed an incident's status to confirm the status page's update: their message,
    editable, and the button (its value: a StatuspageButton)."""
    text = t("slack.statuspage.confirm", lang, id=incident_id, status=status_label(Status(status), lang))
    message_input = _editable_text(
        BlockId.STATUSPAGE_MESSAGE, Field.STATUSPAGE_MESSAGE, t("slack.statuspage.message", lang), message
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
    summary_input = _editable_text(
        BlockId.GATE_SUMMARY, Field.GATE_SUMMARY, t("slack.gate.summary", lang), summary, optional=True
    )
    return [
        *(SectionBlock(text=MarkdownTextObject(text=section)).to_dict() for section in sections),
        summary_input.to_dict(),
        ActionsBlock(elements=[button]).to_dict(),
    ]


def _editable_text(
    block_id: str, action_id: str, label: str, text: str, *, optional: bool = False
) -> InputBlock:
    """A multiline input holding what the user typed before (what Slack cannot show removed), to change."""
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        element=PlainTextInputElement(
            action_id=action_id,
            multiline=True,
            max_length=MAX_TEXT,
            initial_value=without_invisible(text)[:MAX_TEXT] or None,
        ),
        optional=optional,
    )
