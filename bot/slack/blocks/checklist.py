"""The checklist's blocks: in the channel, and pinned."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
)

from bot.i18n import Lang, t
from bot.incidents.escaping import escape_mrkdwn, plain_excerpt
from bot.incidents.model import (
    IncidentSnapshot,
)
from bot.slack.blocks.messages import text_messages
from bot.slack.blocks.mrkdwn import MAX_MESSAGE_BLOCKS
from bot.slack.ids import Action
from bot.slack.payloads import (
    ChecklistBlock,
    ChecklistOption,
)

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
