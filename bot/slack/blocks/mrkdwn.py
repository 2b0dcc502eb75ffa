"""Texts in Slack's mrkdwn: user text escaped and cut where it may be, times, statuses, mentions, errors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    Option,
    PlainTextObject,
)

from bot.i18n import Lang, t
from bot.incidents.errors import ChatError, IncidentError
from bot.incidents.escaping import escape_mrkdwn, plain_excerpt
from bot.incidents.model import (
    SETTABLE_STATUSES,
    IncidentSnapshot,
    Status,
)
from bot.incidents.times import format_local

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


def plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=plain_excerpt(text, limit) or " ", emoji=True)


def severity_options(severities: Sequence[str]) -> list[Option]:
    return [Option(text=PlainTextObject(text=code), value=code) for code in severities]


def status_options(lang: Lang) -> list[Option]:
    return [
        Option(text=PlainTextObject(text=status_label(s, lang)), value=s.value) for s in SETTABLE_STATUSES
    ]
