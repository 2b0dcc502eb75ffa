"""The markers around the parts of a postmortem draft Hashi owns (`<!-- hashi:begin NAME -->` …
`<!-- hashi:end NAME -->`): writing them, refreshing those parts of an edited draft (`hashi export --update`),
and reading a draft without them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARKER_LINE = re.compile(r"<!-- hashi:(?P<edge>begin|end) (?P<name>[a-z][a-z0-9-]*) -->[ \t]*")
# Anything that looks like it was meant to be a Hashi marker, so a mangled one is reported, not ignored.
_MARKER_LIKE = re.compile(r"<!--\s*/?\s*hashi\s*:", re.IGNORECASE)


def marked(name: str, body: str) -> str:
    """A part Hashi owns, between markers that update_postmortem recognises."""
    return f"<!-- hashi:begin {name} -->\n\n{body.strip()}\n\n<!-- hashi:end {name} -->"


def marked_line(name: str, line: str) -> str:
    """One line Hashi owns, kept tight between its markers (a heading needs no blank lines)."""
    return f"<!-- hashi:begin {name} -->\n{line}\n<!-- hashi:end {name} -->"


@dataclass(frozen=True)
class _Span:
    """One marked section: the text between its begin line and its end line."""

    name: str
    body_start: int
    body_end: int
    newline: str


def _marked_sections(text: str, *, what: str) -> list[_Span]:
    """The marked sections of a draft, in order; ValueError (naming the line) when the markers are broken."""
    spans: list[_Span] = []
    seen: set[str] = set()
    opened: tuple[str, int, int, str] | None = None  # name, line number, body start, newline
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        content = line.rstrip("\r\n")
        newline = line[len(content) :]
        line_start, offset = offset, offset + len(line)
        if not _MARKER_LIKE.search(content):
            continue
        found = _MARKER_LINE.fullmatch(content)
        if found is None:
            raise ValueError(
                f"{what}, line {number}: {content.strip()!r} looks like a Hashi marker but is not one; "
                "a marker is `<!-- hashi:begin NAME -->` or `<!-- hashi:end NAME -->` alone on its line"
            )
        name = found["name"]
        if found["edge"] == "begin":
            if opened is not None:
                raise ValueError(
                    f"{what}, line {number}: `hashi:begin {name}` inside `{opened[0]}`, which line "
                    f"{opened[1]} opened and nothing closed; add `<!-- hashi:end {opened[0]} -->` before it"
                )
            if name in seen:
                raise ValueError(f"{what}, line {number}: a second `hashi:begin {name}`; keep one of them")
            if not newline:
                raise ValueError(f"{what}, line {number}: `hashi:begin {name}` is never closed")
            opened = (name, number, offset, newline)
            seen.add(name)
        else:
            if opened is None:
                raise ValueError(f"{what}, line {number}: `hashi:end {name}` without a `hashi:begin {name}`")
            if opened[0] != name:
                raise ValueError(
                    f"{what}, line {number}: `hashi:end {name}` closes `hashi:begin {opened[0]}` "
                    f"from line {opened[1]}; the names must match"
                )
            spans.append(_Span(name=name, body_start=opened[2], body_end=line_start, newline=opened[3]))
            opened = None
    if opened is not None:
        raise ValueError(f"{what}, line {opened[1]}: `hashi:begin {opened[0]}` is never closed")
    return spans


def update_postmortem(existing: str, fresh: str) -> str:
    """Replaces each marked section of `existing` with the one in `fresh`, keeping every other byte.

    A section the existing draft no longer has (its author deleted it) stays deleted; a section the fresh
    draft lacks is left as it was.
    """
    current = _marked_sections(existing, what="the existing draft")
    bodies = {
        span.name: fresh[span.body_start : span.body_end]
        for span in _marked_sections(fresh, what="the new draft")
    }
    pieces: list[str] = []
    last = 0
    for span in current:
        body = bodies.get(span.name)
        if body is None:
            continue
        if span.newline != "\n":
            body = body.replace("\n", span.newline)
        pieces += [existing[last : span.body_start], body]
        last = span.body_end
    pieces.append(existing[last:])
    return "".join(pieces)


def without_markers(draft: str) -> str:
    """The draft without the lines of its section markers: for reading it (the web dashboard), not editing."""
    return "\n".join(line for line in draft.split("\n") if not _MARKER_LINE.fullmatch(line.rstrip("\r")))
