"""Slack's escaped message text as the user meant it, and the lengths Hashi accepts of free text.

Slack delivers the text with escaping on: mentions as `<@U123|name>`, links as `<https://…|label>`, and
the characters `&`, `<`, `>` the user typed as `&amp;`, `&lt;`, `&gt;`. Free text (titles, notes, summaries)
comes out as the user meant it: entities decoded, links as their label, `<!here>` as plain `@here`, user
mentions and channel references kept as Slack markup, control characters removed. Escape it wherever it is
shown.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# The limits of free text, the same on every way in (slash command, modal fields and their max_length).
MAX_TITLE = 150


MAX_TEXT = 2900


MAX_REASON = 500


MAX_SERVICES = 500


MAX_NAME = 64  # a type or field name (hashi.toml keeps them to 64 characters)


MAX_TIME_TEXT = 60


MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>", re.ASCII)


_MARKUP = re.compile(r"<([^<>]*)>")


_ENTITY = re.compile(r"&(amp|lt|gt);")


_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "「": "」", "『": "』", "„": "“"}


def fold(word: str) -> str:
    """A keyword as compared: full-width folded (`ｎｏｔｅ` → `note`), lowercase."""
    return unicodedata.normalize("NFKC", word).lower()


def without_controls(text: str) -> str:
    """The text without control characters (newlines and tabs stay) or unpaired surrogates."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs"))


def _plain(markup: re.Match[str]) -> str:
    """One piece of Slack markup as text: mentions kept, `<!here>` as `@here`, a link as its label."""
    inner = markup.group(1)
    if inner.startswith(("@", "#")):
        return markup.group(0)
    target, _, label = inner.partition("|")
    if label:
        return decode(label)
    if target.startswith("!"):
        return "@" + decode(target[1:].split("^", 1)[0])
    return decode(target)


def decode(text: str) -> str:
    """Slack's `&amp;`, `&lt;`, `&gt;` as the characters the user typed."""
    return _ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text)


def free_text(raw: str, *, one_line: bool = False) -> str:
    """Free text as the user meant it: markup resolved, entities decoded, one pair of outer quotes removed."""
    pieces: list[str] = []
    last = 0
    for found in _MARKUP.finditer(raw):
        pieces.append(decode(raw[last : found.start()]))
        pieces.append(_plain(found))
        last = found.end()
    pieces.append(decode(raw[last:]))
    text = "".join(pieces).strip()
    if one_line:
        text = " ".join(text.split("\n")).replace("\t", " ").strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def shown(fragment: str) -> str:
    """A piece of the user's input quoted back, short and on one line."""
    line = " ".join(decode(fragment).split()).replace("`", "'")
    if len(line) > 40:
        line = line[:39] + "…"
    return f"`{line}`"


def parse_mention(token: str) -> str | None:
    """The user ID of a Slack user mention (`<@U123>`, `<@U123|name>`, `<@W123>`), else None."""
    found = MENTION.fullmatch(token.strip())
    return found.group(1) if found else None


_SURROGATE = re.compile("[\ud800-\udfff]")
# A surrogate escaped in JSON text (`\ud800`), as it comes or percent-encoded in a form field (`%5Cud800`).
_ESCAPED_SURROGATE = re.compile(r"(?:\\|%5[cC])u[dD][89a-fA-F]")


def may_hold_lone_surrogates(raw: str) -> bool:
    """Whether a request body as it came (JSON, or a form) may parse into text with a lone surrogate: only a
    JSON escape of one can make one (a decoded body holds none itself)."""
    return _ESCAPED_SURROGATE.search(raw) is not None


def without_lone_surrogates(payload: Any) -> Any:
    """The payload with every lone surrogate in its texts (a `\\ud800` escape in JSON, which no UTF-8 text,
    database or log can hold) replaced by U+FFFD, keys included; the same object when there is none."""
    if isinstance(payload, str):
        try:
            payload.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE.sub("\ufffd", payload)
        return payload
    if isinstance(payload, dict):
        pairs = [(k, v, without_lone_surrogates(k), without_lone_surrogates(v)) for k, v in payload.items()]
        if all(k is k2 and v is v2 for k, v, k2, v2 in pairs):
            return payload
        return {k2: v2 for _, _, k2, v2 in pairs}
    if isinstance(payload, list):
        items = [without_lone_surrogates(item) for item in payload]
        return payload if all(a is b for a, b in zip(items, payload, strict=True)) else items
    return payload


def clipped(text: str, limit: int = MAX_TEXT) -> str:
    """Text that came in without a way to refuse it (a pinned message) within Hashi's limit: cut with `…`."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
