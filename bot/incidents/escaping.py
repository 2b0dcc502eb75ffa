"""Untrusted text made safe for Slack mrkdwn, Markdown files and Slack channel names."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_MRKDWN = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# A user mention (`<@U123>`, `<@W123|name>`) or channel reference (`<#C123|name>`), not `<!here>` or a link.
_MENTION = re.compile(r"<(?:@[UW]|#[CG])[A-Z0-9]+(?:\|[^<>|]*)?>")

# Characters that end a line or a block in Markdown (and tabs, which indent); they become spaces.
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+")
# Characters that are Markdown syntax wherever they stand.
_ALWAYS = {
    "\\": "\\\\",
    "`": "\\`",
    "*": "\\*",
    "[": "\\[",
    "]": "\\]",
    "|": "\\|",
    "~": "\\~",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
}
# An underscore not between two alphanumerics ([^\W_] is exactly str.isalnum).
_LONE_UNDERSCORE = re.compile(r"_(?:(?<![^\W_]_)|(?![^\W_]))")  # starts with `_`, so the search is quick
# Control characters (Unicode category Cc) and lone surrogates (Cs), which no one means to type.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Characters that reorder or hide text: bidirectional marks, embeddings, overrides and isolates, zero-width
# spaces, invisible operators and the byte-order mark. With them a title can show reversed (`‮txt.exe`) or
# disguised; they are dropped from everything others read (the stored text keeps them).
_INVISIBLE = re.compile("[\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# The zero-width (non-)joiner shapes scripts and joins emoji (👩‍💻): kept between two non-ASCII characters,
# dropped next to ASCII, a space or an end, where it can only hide something.
_JOINER = re.compile(r"(?<![^\x00-\x7f\s])[\u200c\u200d]|[\u200c\u200d](?![^\x00-\x7f\s])")
# Characters that start a block (heading, list, quote, rule, setext underline) at the start of a line.
_LINE_START = "#+-="
_ORDERED = re.compile(r"(\d{1,9})([.)])")
# `# Title #` closes the heading: a run of `#` after a space (or alone) at the end of a heading's text.
_CLOSING_HASHES = re.compile(r"(?:(?<=[ \t])|^)(#+)$")

# Slack lets channel names use these scripts besides a-z, 0-9, - and _ (Japanese teams name channels in it).
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-H
)
_SLUG_ASCII = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_PARTIAL_ENTITY = re.compile(r"&(?:a|am|amp|l|lt|g|gt)?$")


def without_invisible(text: str) -> str:
    """The text without the characters that reorder or hide it (bidirectional controls, zero-width spaces;
    joiners only where they join two non-ASCII characters stay): every escape here applies it."""
    return _JOINER.sub("", _INVISIBLE.sub("", text))


def without_mentions(text: str) -> str:
    """Text from outside Slack with its mention syntax taken apart (`<@U123>` → `@U123`), so no rendering
    that keeps people's own mentions can ping anyone for it."""
    return _MENTION.sub(lambda found: found.group(0)[1:-1], text)


def escape_mrkdwn(text: str, *, keep_mentions: bool = False) -> str:
    """Escapes `&`, `<` and `>` so user text shows as typed in Slack mrkdwn and never mentions or links, and
    drops the characters that reorder or hide text (without_invisible).

    With keep_mentions, user mentions and channel references (`<@U123>`, `<#C123|name>`) stay live;
    special mentions (`<!channel>`, `<!here>`) and links are escaped all the same.
    """
    text = without_invisible(text)
    if not keep_mentions:
        return text.translate(_MRKDWN)
    pieces: list[str] = []
    last = 0
    for found in _MENTION.finditer(text):
        pieces.append(text[last : found.start()].translate(_MRKDWN))
        user_id, _, label = found.group()[1:-1].partition("|")
        pieces.append(f"<{user_id}|{label.translate(_MRKDWN)}>" if label else f"<{user_id}>")
        last = found.end()
    pieces.append(text[last:].translate(_MRKDWN))
    return "".join(pieces)


def _inline(text: str) -> str:
    """One line of text: line breaks and tabs as spaces, control and invisible characters dropped, ends
    trimmed."""
    return without_invisible(_CONTROLS.sub("", _BREAKS.sub(" ", text))).strip(" ")


def escape_markdown(text: str) -> str:
    """Escapes user text for an inline spot in CommonMark/GFM: it renders as the same plain text, on one line.

    Newlines become spaces, so the text can never start a block (heading, list, quote, code, table).
    """
    line = _inline(text)
    escaped = line
    # One fast pass a character. Order matters: `\\` comes first and `&` before `<` and `>`, since the
    # replacements themselves add backslashes and ampersands.
    for char, replacement in _ALWAYS.items():
        escaped = escaped.replace(char, replacement)
    # `snake_case` stays readable: an underscore between two letters or digits cannot emphasise. (Escaping
    # the others first leaves each underscore's neighbours alphanumeric exactly where they were.)
    escaped = _LONE_UNDERSCORE.sub(r"\\_", escaped)
    if escaped and escaped[0] in _LINE_START:
        escaped = "\\" + escaped
    # `1. text` and `1) text` would start an ordered list.
    return _ORDERED.sub(r"\1\\\2", escaped, count=1) if _ORDERED.match(escaped) else escaped


def escape_markdown_heading(text: str) -> str:
    """Escapes user text that ends an ATX heading (`# INC-12: <text>`): as escape_markdown, and a run of `#`
    at the end after a space is escaped too, or CommonMark would read it as the heading's closing sequence."""
    return _CLOSING_HASHES.sub(r"\\\1", escape_markdown(text))


_LINK_UNSAFE = frozenset("()<>[]|\\\"'` ")


def markdown_link(label: str, url: str) -> str:
    """A Markdown link with an escaped label to an http(s) address (characters that could end or break the
    link percent-encoded); just the escaped label when the address is not http(s)."""
    if not re.match(r"https?://[^\s]+$", url):
        return escape_markdown(label)
    safe = "".join(c if c.isascii() and c.isprintable() and c not in _LINK_UNSAFE else quote(c) for c in url)
    return f"[{escape_markdown(label)}]({safe})"


def escape_github(text: str) -> str:
    """Escapes user text for an inline spot in a GitHub issue: as escape_markdown, and `@name` and `#12` are
    kept from mentioning people or linking issues (a zero-width space, as an entity, after `@` and `#`)."""
    return re.sub(r"([@#])(?=[\w-])", r"\1&#8203;", escape_markdown(text))


def escape_markdown_cell(text: str) -> str:
    """Escapes user text for a GFM table cell (the same as escape_markdown, which already escapes `|`)."""
    return escape_markdown(text)


def _kept(char: str) -> bool:
    """Whether a (lowercased) character may stand in a Slack channel name."""
    if char in _SLUG_ASCII:
        return True
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES) and (char.isalpha() or char.isnumeric())


def channel_slug(title: str, *, max_len: int) -> str:
    """A Slack channel-name fragment from a title: lowercase, `-` between words, CJK kept, ≤ max_len."""
    if max_len <= 0:
        return ""
    chars: list[str] = []
    for char in unicodedata.normalize("NFKC", title).lower():
        if _kept(char):
            chars.append(char)
            continue
        # `café` → `cafe`: keep the base letter of an accented Latin letter.
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if c in _SLUG_ASCII)
        chars.append(base or "-")
    slug = re.sub(r"-{2,}", "-", "".join(chars)).strip("-")
    return slug[:max_len].rstrip("-")


def plain_excerpt(text: str, limit: int) -> str:
    """The text on one line, cut to `limit` characters with `…` (never through an `&amp;`-style entity)."""
    if limit <= 0:
        return ""
    line = " ".join(_inline(text).split())
    if len(line) <= limit:
        return line
    cut = _PARTIAL_ENTITY.sub("", line[: limit - 1]).rstrip(" \u200d")
    return cut + "…"
