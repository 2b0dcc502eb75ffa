"""An answer as Slack messages: long text and many blocks spread over as many messages as they need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.blocks.mrkdwn import MAX_MESSAGE_BLOCKS, split_mrkdwn

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
