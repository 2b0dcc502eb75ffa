"""`/incident` command text → a typed command, or a ParseError that tells the user the right form.

Slack delivers the text with escaping on: mentions as `<@U123|name>`, links as `<https://…|label>`, and
the characters `&`, `<`, `>` the user typed as `&amp;`, `&lt;`, `&gt;`. Free text (titles, notes, summaries)
comes out as the user meant it: entities decoded, links as their label, `<!here>` as plain `@here`, user
mentions and channel references kept as Slack markup, control characters removed. Escape it wherever it is
shown.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from bot.i18n import DEFAULT_LANG, Lang, t
from bot.incidents.commands import (
    Acknowledge,
    AddFollowup,
    AddNote,
    AssignRole,
    Close,
    Command,
    Declare,
    Help,
    ListIncidents,
    Mitigated,
    OpenDeclareModal,
    Page,
    Postmortem,
    PublishStatuspage,
    Reopen,
    Resolve,
    RetrySetup,
    SetDetected,
    SetField,
    SetImpact,
    SetLead,
    SetServices,
    SetSeverity,
    SetStatus,
    SetType,
    ShowChecklist,
    ShowTimeline,
    StartPlaybook,
    Stats,
)
from bot.incidents.escaping import escape_mrkdwn
from bot.incidents.model import SETTABLE_STATUSES, Status
from bot.incidents.times import TIME_FORMS, TimeParseError, parse_time
from bot.incidents.windows import WINDOW_FORMS, Window, parse_window

# The limits of free text, the same on every way in (slash command, modal fields and their max_length).
MAX_TITLE = 150
MAX_TEXT = 2900
MAX_REASON = 500
MAX_SERVICES = 500
MAX_NAME = 64  # a type or field name (hashi.toml keeps them to 64 characters)
MAX_TIME_TEXT = 60
# `at 1 hour 30 minutes ago` is five tokens; the longest run that reads as a time wins.
MAX_TIME_TOKENS = 5
DEFAULT_STATS_WINDOW = "30d"
LEAD_ROLE = "lead"


@dataclass(frozen=True, slots=True)
class ParseError:
    """Command text that could not be understood: what was wrong, and the right form.

    Both are plain text (backticks mark code): escape them for mrkdwn where they are shown.
    """

    message: str
    usage: str


class _Refusal(Exception):
    """Stops parsing with the ParseError to return; never leaves this module."""

    def __init__(self, error: ParseError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class _Token:
    """One whitespace-separated word of the command text, with where it stands."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Context:
    """What parsing depends on besides the text."""

    severities: tuple[str, ...]
    roles: tuple[str, ...]
    now: datetime
    tz: ZoneInfo
    lang: Lang

    def t(self, key: str, /, **params: object) -> str:
        """A catalogue text in the user's language."""
        return t(key, self.lang, **params)


class _Args:
    """The words after the subcommand, read left to right; free text is taken from the source as typed."""

    def __init__(self, source: str, tokens: list[_Token], position: int = 0) -> None:
        self.source = source
        self.tokens = tokens
        self.position = position

    def peek(self, ahead: int = 0) -> str | None:
        """The word `ahead` places on, without taking it."""
        index = self.position + ahead
        return self.tokens[index].text if index < len(self.tokens) else None

    def take(self, count: int = 1) -> str:
        """Takes `count` words and returns them as typed (with the spacing between them)."""
        first, last = self.tokens[self.position], self.tokens[self.position + count - 1]
        self.position += count
        return self.source[first.start : last.end]

    def remaining(self) -> int:
        """How many words are left."""
        return len(self.tokens) - self.position

    def rest(self) -> str:
        """Everything left, as typed, and takes it."""
        if self.position >= len(self.tokens):
            return ""
        text = self.source[self.tokens[self.position].start : self.tokens[-1].end]
        self.position = len(self.tokens)
        return text


# `<@U1|bob smith>` is one word even with a space inside.
_TOKEN = re.compile(r"(?:<[^<>]*>|<|[^\s<])+")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>", re.ASCII)
_INCIDENT_ID = re.compile(r"(?:inc-?|#)([0-9]{1,9})", re.ASCII | re.IGNORECASE)
_MARKUP = re.compile(r"<([^<>]*)>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "「": "」", "『": "』", "„": "“"}
_TRAILING_NUMBER = re.compile(r"([0-9]+)$", re.ASCII)
_SERVICE = re.compile(r"service[:=](.*)", re.IGNORECASE | re.DOTALL)
_TYPE = re.compile(r"type[:=](.*)", re.IGNORECASE | re.DOTALL)


def _fold(word: str) -> str:
    """A keyword as compared: full-width folded (`ｎｏｔｅ` → `note`), lowercase."""
    return unicodedata.normalize("NFKC", word).lower()


def _without_controls(text: str) -> str:
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
        return _decode(label)
    if target.startswith("!"):
        return "@" + _decode(target[1:].split("^", 1)[0])
    return _decode(target)


def _decode(text: str) -> str:
    """Slack's `&amp;`, `&lt;`, `&gt;` as the characters the user typed."""
    return _ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text)


def _free_text(raw: str, *, one_line: bool = False) -> str:
    """Free text as the user meant it: markup resolved, entities decoded, one pair of outer quotes removed."""
    pieces: list[str] = []
    last = 0
    for found in _MARKUP.finditer(raw):
        pieces.append(_decode(raw[last : found.start()]))
        pieces.append(_plain(found))
        last = found.end()
    pieces.append(_decode(raw[last:]))
    text = "".join(pieces).strip()
    if one_line:
        text = " ".join(text.split("\n")).replace("\t", " ").strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def _shown(fragment: str) -> str:
    """A piece of the user's input quoted back, short and on one line."""
    line = " ".join(_decode(fragment).split()).replace("`", "'")
    if len(line) > 40:
        line = line[:39] + "…"
    return f"`{line}`"


def parse_mention(token: str) -> str | None:
    """The user ID of a Slack user mention (`<@U123>`, `<@U123|name>`, `<@W123>`), else None."""
    found = _MENTION.fullmatch(token.strip())
    return found.group(1) if found else None


# The subcommands, in the order help lists them; their usage lines and effects are in the catalogue
# (`usage.<name>`, `help.<name>`), usage filled from the configuration ({sev}, {roles}, {statuses}).
_NAMES = (
    "declare",
    "list",
    "stats",
    "help",
    "sev",
    "status",
    "ack",
    "mitigated",
    "lead",
    "role",
    "note",
    "impact",
    "detected",
    "type",
    "set",
    "services",
    "resolve",
    "reopen",
    "close",
    "checklist",
    "timeline",
    "playbook",
    "followup",
    "statuspage",
    "page",
    "postmortem",
    "retry",
)
_ANYWHERE = ("declare", "list", "stats", "help")
_ALIASES: dict[str, str] = {name: name for name in _NAMES} | {
    "severity": "sev",
    "acknowledge": "ack",
    "mitigate": "mitigated",
    "log": "note",
    "checklists": "checklist",
    "follow-up": "followup",
    "status-page": "statuspage",
    "postmortems": "postmortem",
    "service": "services",
}
_IMPACT_EDGES: dict[str, Literal["start", "end"]] = {
    "start": "start",
    "started": "start",
    "begin": "start",
    "end": "end",
    "ended": "end",
    "stop": "end",
    "stopped": "end",
}


def _usage(name: str, *, severities: Sequence[str], roles: Sequence[str], lang: Lang) -> str:
    """The usage line of one subcommand, filled from the configuration (plain text)."""
    return t(
        f"usage.{name}",
        lang,
        sev="|".join(severities) or "SEVn",
        roles="|".join(r for r in roles if r != LEAD_ROLE) or "role",
        statuses="|".join(SETTABLE_STATUSES),
    )


def _refuse(message: str, name: str, ctx: _Context, *, forms: str = "") -> _Refusal:
    """The refusal for a subcommand, with its one-line usage (and the accepted forms of a time or window)."""
    usage = _usage(name, severities=ctx.severities, roles=ctx.roles, lang=ctx.lang)
    if forms:
        message = f"{message} {forms}"
    return _Refusal(ParseError(message=message, usage=usage))


def _times(ctx: _Context) -> str:
    return ctx.t("parse.time_forms", forms=TIME_FORMS)


def usage_text(severities: Sequence[str], roles: Sequence[str], lang: Lang = DEFAULT_LANG) -> str:
    """The whole `/incident` help, in Slack mrkdwn."""

    def line(name: str) -> str:
        usage = escape_mrkdwn(_usage(name, severities=severities, roles=roles, lang=lang))
        return t("help.line", lang, usage=usage, effect=t(f"help.{name}", lang))

    anywhere = [t("help.modal", lang), *(line(name) for name in _ANYWHERE)]
    in_channel = [line(name) for name in _NAMES if name not in _ANYWHERE]
    none = t("help.none_configured", lang)
    codes = t("list.separator", lang).join(f"`{escape_mrkdwn(code)}`" for code in severities) or none
    role_list = t("list.separator", lang).join(f"`{escape_mrkdwn(role)}`" for role in roles) or none
    return "\n".join(
        [
            t("help.title", lang),
            t("help.anywhere", lang),
            *anywhere,
            t("help.in_channel", lang),
            *in_channel,
            t("help.times", lang, forms=escape_mrkdwn(TIME_FORMS)),
            t("help.severities", lang, codes=codes),
            t("help.roles", lang, roles=role_list),
            t("help.mentions", lang),
        ]
    )


def parse_command(
    text: str,
    *,
    severities: Sequence[str],
    roles: Sequence[str],
    now: datetime,
    tz: ZoneInfo,
    lang: Lang = DEFAULT_LANG,
) -> Command | ParseError:
    """Parses the text of an `/incident` command into a command, or a ParseError for the user (in `lang`)."""
    ctx = _Context(tuple(severities), tuple(roles), now, tz, lang)
    source = _without_controls(text)
    tokens = [_Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(source)]
    try:
        return _parse(_Args(source, tokens), ctx)
    except _Refusal as refusal:
        return refusal.error


def _named_incident(word: str | None) -> int | None:
    """The id a word names as an incident (`INC-12`, `inc-12` or `#12`), else None."""
    if word is None:
        return None
    found = _INCIDENT_ID.fullmatch(_fold(word))
    return int(found.group(1)) if found else None


def _parse(args: _Args, ctx: _Context) -> Command:
    """Reads the optional incident id and the subcommand, then hands the rest to the subcommand's reader."""
    if args.remaining() == 0:
        return OpenDeclareModal()
    incident_id = _named_incident(args.peek())
    if incident_id is not None:
        shown_id = args.take()
        if args.remaining() == 0:
            raise _Refusal(
                ParseError(
                    message=ctx.t("parse.id_without_command", id=_shown(shown_id)),
                    usage=ctx.t("parse.id_usage", id=incident_id),
                )
            )
    word = args.take()
    name = _ALIASES.get(_fold(word))
    if name is None:
        raise _unknown(word, args, ctx)
    second_id = _named_incident(args.peek())
    if second_id is not None:
        if incident_id is not None:
            raise _refuse(ctx.t("parse.id_twice"), name, ctx)
        args.take()
        incident_id = second_id
    if name in _ANYWHERE:
        if incident_id is not None:
            raise _refuse(ctx.t("parse.no_id_here", name=name), name, ctx)
        return _GLOBAL_READERS[name](args, ctx)
    if incident_id == 0:
        raise _refuse(ctx.t("parse.id_zero"), name, ctx)
    return _INCIDENT_READERS[name](args, ctx, incident_id)


def _unknown(word: str, args: _Args, ctx: _Context) -> _Refusal:
    """The refusal for a subcommand that does not exist, suggesting the closest one."""
    close = difflib.get_close_matches(_fold(word), list(_ALIASES), n=3, cutoff=0.6)
    names = list(dict.fromkeys(_ALIASES[match] for match in close))[:2]
    parts = [ctx.t("parse.unknown_command", word=_shown(word))]
    if names:
        parts.append(ctx.t("parse.did_you_mean", names=tuple(f"`{name}`" for name in names)))
    if args.remaining() > 0:
        parts.append(ctx.t("parse.declare_hint"))
    parts.append(ctx.t("parse.help_hint"))
    return _Refusal(ParseError(message=ctx.t("parse.sentences_joiner").join(parts), usage="/incident help"))


# Commands usable anywhere


def _read_declare(args: _Args, ctx: _Context) -> Command:
    """`declare [SEVn] [type:<name>] <title>` (severity and type in either order); without a title it opens
    the modal."""
    severity: str | None = None
    incident_type: str | None = None
    for _ in range(2):
        first = args.peek()
        if first is None:
            break
        # A bare number is not taken as a severity here: `declare 500 errors on checkout` is a title.
        if severity is None and (severity := _severity(first, ctx, allow_number=False)) is not None:
            args.take()
        elif incident_type is None and (named := _TYPE.fullmatch(unicodedata.normalize("NFKC", first))):
            args.take()
            incident_type = _free_text(named.group(1), one_line=True)
            if not incident_type:
                raise _refuse(ctx.t("parse.which_type"), "declare", ctx)
        else:
            break
    title = _free_text(args.rest(), one_line=True)
    if not title:
        return OpenDeclareModal()
    if len(title) > MAX_TITLE:
        raise _refuse(
            ctx.t("parse.too_long", what=ctx.t("parse.what.title"), length=len(title), limit=MAX_TITLE),
            "declare",
            ctx,
        )
    return Declare(severity=severity, title=title, incident_type=incident_type)


def _read_list(args: _Args, ctx: _Context) -> Command:
    """`list`."""
    _no_more(args, "list", ctx)
    return ListIncidents()


def _read_help(args: _Args, _ctx: _Context) -> Command:
    """`help` (anything after it is ignored)."""
    args.rest()
    return Help()


def _read_stats(args: _Args, ctx: _Context) -> Command:
    """`stats [<window>|<since>..<until>|all] [service:<name>]`, in either order."""
    window: Window | None = None
    window_text = DEFAULT_STATS_WINDOW
    service: str | None = None
    while (word := args.peek()) is not None:
        args.take()
        if (named := _SERVICE.fullmatch(unicodedata.normalize("NFKC", word))) is not None:
            value = named.group(1) or (args.take() if args.peek() is not None else "")
            if service is not None or not (service := _free_text(value, one_line=True)):
                raise _refuse(ctx.t("parse.one_service"), "stats", ctx)
        elif window is None:
            try:
                window = parse_window(word, now=ctx.now, tz=ctx.tz)
            except TimeParseError as exc:
                raise _refuse(
                    _time_message(exc, ctx),
                    "stats",
                    ctx,
                    forms=ctx.t("parse.window_forms", forms=WINDOW_FORMS),
                ) from exc
            window_text = "".join(_fold(word).split())
        else:
            raise _refuse(ctx.t("parse.not_understood", word=_shown(word)), "stats", ctx)
    if window is None:
        window = parse_window(DEFAULT_STATS_WINDOW, now=ctx.now, tz=ctx.tz)
    return Stats(window=window, window_text=window_text, service=service)


_GLOBAL_READERS: dict[str, Callable[[_Args, _Context], Command]] = {
    "declare": _read_declare,
    "list": _read_list,
    "stats": _read_stats,
    "help": _read_help,
}


# Commands on one incident


def _read_sev(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`sev <SEVn> [reason]`."""
    word = args.peek()
    if word is None:
        raise _refuse(ctx.t("parse.which_severity"), "sev", ctx)
    severity = _severity(word, ctx, allow_number=True)
    if severity is None:
        codes = ", ".join(ctx.severities)
        raise _refuse(ctx.t("parse.not_severity", word=_shown(word), codes=codes), "sev", ctx)
    args.take()
    reason = _limited(_free_text(args.rest()), MAX_REASON, "reason", "sev", ctx)
    return SetSeverity(incident_id=incident_id, severity=severity, reason=reason)


def _read_status(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`status <status> [at <time>] [message]`."""
    word = args.peek()
    if word is None:
        raise _refuse(ctx.t("parse.which_status"), "status", ctx)
    status = _status(word, ctx)
    args.take()
    at = _at_option(args, ctx, "status")
    message = _limited(_free_text(args.rest()), MAX_TEXT, "message", "status", ctx)
    return SetStatus(incident_id=incident_id, status=status, at=at, message=message)


def _read_ack(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`ack [at <time>]`."""
    return Acknowledge(incident_id=incident_id, at=_only_time(args, ctx, "ack"))


def _read_mitigated(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`mitigated [at <time>]`."""
    return Mitigated(incident_id=incident_id, at=_only_time(args, ctx, "mitigated"))


def _read_lead(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`lead <@user>`."""
    word = args.peek()
    if word is None:
        raise _refuse(ctx.t("parse.who_leads"), "lead", ctx)
    user_id = _mention(word, "lead", ctx)
    args.take()
    _no_more(args, "lead", ctx)
    return SetLead(incident_id=incident_id, user_id=user_id)


_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _read_page(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`page <@user>` or `page <service>`."""
    word = args.peek()
    if word is None:
        raise _refuse(ctx.t("parse.page_whom"), "page", ctx)
    if word.startswith(("<@", "<!", "<#", "@")):
        target = f"user:{_mention(word, 'page', ctx)}"
    elif _SERVICE_NAME.fullmatch(word):
        target = f"service:{word}"
    else:
        raise _refuse(ctx.t("parse.page_target", word=_shown(word)), "page", ctx)
    args.take()
    _no_more(args, "page", ctx)
    return Page(incident_id=incident_id, target=target)


def _read_role(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`role <role> <@user>` (the mention may come first); `role lead` sets the lead."""
    first, second = args.peek(), args.peek(1)
    if first is None or second is None:
        raise _refuse(ctx.t("parse.role_and_person"), "role", ctx)
    role_word, person = (second, first) if parse_mention(first) else (first, second)
    role = _role(role_word, ctx)
    user_id = _mention(person, "role", ctx)
    args.take(2)
    _no_more(args, "role", ctx)
    if role == LEAD_ROLE:
        return SetLead(incident_id=incident_id, user_id=user_id)
    return AssignRole(incident_id=incident_id, role=role, user_id=user_id)


def _read_note(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`note [at <time>] <text>` (alias `log`)."""
    at = _at_option(args, ctx, "note")
    text = _free_text(args.rest())
    if not text:
        raise _refuse(ctx.t("parse.note_empty"), "note", ctx)
    return AddNote(incident_id=incident_id, at=at, text=_limited(text, MAX_TEXT, "note", "note", ctx))


def _read_impact(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`impact start|end <time>`."""
    word = args.peek()
    edge = _IMPACT_EDGES.get(_fold(word)) if word is not None else None
    if word is None or edge is None:
        raise _refuse(ctx.t("parse.impact_edge"), "impact", ctx)
    args.take()
    return SetImpact(incident_id=incident_id, edge=edge, at=_required_time(args, ctx, "impact"))


def _read_detected(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`detected <time>`."""
    return SetDetected(incident_id=incident_id, at=_required_time(args, ctx, "detected"))


def _read_type(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`type <name>`."""
    word = args.peek()
    if word is None:
        raise _refuse(ctx.t("parse.which_type"), "type", ctx)
    args.take()
    _no_more(args, "type", ctx)
    return SetType(
        incident_id=incident_id, incident_type=_limited(_free_text(word), MAX_NAME, "name", "type", ctx)
    )


def _read_set(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`set <field> <value>` (a value of several words is taken whole)."""
    word = args.peek()
    if word is None or args.remaining() < 2:
        raise _refuse(ctx.t("parse.field_and_value"), "set", ctx)
    args.take()
    name = _limited(_free_text(word), MAX_NAME, "name", "set", ctx)
    value = _limited(_free_text(args.rest(), one_line=True), MAX_REASON, "value", "set", ctx)
    return SetField(incident_id=incident_id, name=name, value=value)


def _read_services(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`services <a>, <b>` replaces them; `+<c>` adds, `-<d>` removes (alone, or after a replacement)."""
    text = _limited(_free_text(args.rest(), one_line=True), MAX_SERVICES, "services", "services", ctx)
    names = [part.strip() for chunk in text.split(",") for part in _service_words(chunk)]
    if not [n for n in names if n.lstrip("+-").strip()]:
        raise _refuse(ctx.t("parse.which_services"), "services", ctx)
    replace = [n for n in names if not n.startswith(("+", "-"))]
    add = [n[1:].strip() for n in names if n.startswith("+") and n[1:].strip()]
    remove = [n[1:].strip() for n in names if n.startswith("-") and n[1:].strip()]
    return SetServices(
        incident_id=incident_id,
        replace=tuple(replace) if replace else None,
        add=tuple(add),
        remove=tuple(remove),
    )


def _service_words(chunk: str) -> list[str]:
    """One comma-separated piece: a name (spaces kept), or several `+a -b` changes side by side."""
    words = chunk.split()
    if len(words) > 1 and all(w.startswith(("+", "-")) for w in words):
        return words
    return [chunk] if chunk.strip() else []


def _read_resolve(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`resolve [at <time>] [summary]`."""
    at = _at_option(args, ctx, "resolve")
    summary = _limited(_free_text(args.rest()), MAX_TEXT, "summary", "resolve", ctx)
    return Resolve(incident_id=incident_id, at=at, summary=summary)


def _read_reopen(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`reopen`."""
    _no_more(args, "reopen", ctx)
    return Reopen(incident_id=incident_id)


def _read_close(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`close`."""
    _no_more(args, "close", ctx)
    return Close(incident_id=incident_id)


def _read_checklist(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`checklist`."""
    _no_more(args, "checklist", ctx)
    return ShowChecklist(incident_id=incident_id)


def _read_timeline(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`timeline [page]`."""
    word = args.peek()
    page = 1
    if word is not None:
        number = id_number(unicodedata.normalize("NFKC", word))
        if number is None or number < 1:
            raise _refuse(ctx.t("parse.not_understood", word=_shown(word)), "timeline", ctx)
        args.take()
        page = number
    _no_more(args, "timeline", ctx)
    return ShowTimeline(incident_id=incident_id, page=page)


def _read_playbook(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`playbook <name>`."""
    name = _free_text(args.rest(), one_line=True)
    if not name:
        raise _refuse(ctx.t("parse.which_playbook"), "playbook", ctx)
    return StartPlaybook(incident_id=incident_id, name=_limited(name, MAX_TITLE, "name", "playbook", ctx))


def _read_followup(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`followup <text> [<@owner>]`: a mention at the very end is the owner."""
    owner: str | None = None
    if args.remaining() > 0:
        last = args.tokens[-1].text
        if (owner := parse_mention(last)) is None and last.startswith("@") and len(last) > 1:
            raise _refuse(_bare_mention_message(last, ctx), "followup", ctx)
    if owner is not None:
        args.tokens = args.tokens[:-1]
    text = _free_text(args.rest())
    if not text:
        raise _refuse(ctx.t("parse.followup_empty"), "followup", ctx)
    text = _limited(text, MAX_TEXT, "follow-up", "followup", ctx)
    return AddFollowup(incident_id=incident_id, text=text, owner=owner)


def _read_statuspage(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`statuspage publish <message>`."""
    if (args.peek() or "").lower() != "publish":
        raise _refuse(ctx.t("parse.statuspage_what"), "statuspage", ctx)
    args.take()
    message = _free_text(args.rest())
    if not message:
        raise _refuse(ctx.t("parse.statuspage_message"), "statuspage", ctx)
    message = _limited(message, MAX_TEXT, "status-page-message", "statuspage", ctx)
    return PublishStatuspage(incident_id=incident_id, message=message)


def _read_postmortem(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`postmortem`."""
    _no_more(args, "postmortem", ctx)
    return Postmortem(incident_id=incident_id)


def _read_retry(args: _Args, ctx: _Context, incident_id: int | None) -> Command:
    """`retry`."""
    _no_more(args, "retry", ctx)
    return RetrySetup(incident_id=incident_id)


_INCIDENT_READERS: dict[str, Callable[[_Args, _Context, int | None], Command]] = {
    "sev": _read_sev,
    "status": _read_status,
    "ack": _read_ack,
    "mitigated": _read_mitigated,
    "lead": _read_lead,
    "role": _read_role,
    "note": _read_note,
    "impact": _read_impact,
    "detected": _read_detected,
    "type": _read_type,
    "set": _read_set,
    "services": _read_services,
    "resolve": _read_resolve,
    "reopen": _read_reopen,
    "close": _read_close,
    "checklist": _read_checklist,
    "timeline": _read_timeline,
    "playbook": _read_playbook,
    "followup": _read_followup,
    "statuspage": _read_statuspage,
    "page": _read_page,
    "postmortem": _read_postmortem,
    "retry": _read_retry,
}


# Pieces


def _no_more(args: _Args, name: str, ctx: _Context) -> None:
    """Refuses words the subcommand does not take."""
    if args.remaining() > 0:
        unexpected = args.rest()
        raise _refuse(ctx.t("parse.nothing_more", name=name, word=_shown(unexpected)), name, ctx)


def _limited(text: str, limit: int, what: str, name: str, ctx: _Context) -> str:
    """The text, or a refusal naming the limit."""
    if len(text) > limit:
        raise _refuse(
            ctx.t("parse.too_long", what=ctx.t(f"parse.what.{what}"), length=len(text), limit=limit),
            name,
            ctx,
        )
    return text


def _severity(word: str, ctx: _Context, *, allow_number: bool) -> str | None:
    """The configured code a user meant (`sev1`, `SEV-1`, or with allow_number `1`), else None."""

    def squash(code: str) -> str:
        return "".join(c for c in _fold(code) if c not in "-_ ")

    key = squash(word)
    for code in ctx.severities:
        if squash(code) == key:
            return code
    if allow_number and key.isascii() and key.isdigit():
        numbered = [
            code
            for code in ctx.severities
            if (found := _TRAILING_NUMBER.search(code)) and found.group(1).lstrip("0") == key.lstrip("0")
        ]
        if len(numbered) == 1:
            return numbered[0]
    return None


def _status(word: str, ctx: _Context) -> Status:
    """The settable status a user meant (a unique prefix of three letters or more works too)."""
    folded = _fold(word)
    names = [str(status) for status in SETTABLE_STATUSES]
    matches = [s for s in SETTABLE_STATUSES if s == folded or (len(folded) >= 3 and s.startswith(folded))]
    if len(matches) == 1:
        return matches[0]
    if folded in ("close", "closed"):
        raise _refuse(ctx.t("parse.use_close"), "status", ctx)
    if folded in ("open", "reopen", "reopened"):
        raise _refuse(ctx.t("parse.use_reopen"), "status", ctx)
    message = ctx.t("parse.not_status", word=_shown(word), names=", ".join(names))
    close = difflib.get_close_matches(folded, names, n=1, cutoff=0.6)
    if close:
        message += ctx.t("parse.sentences_joiner") + ctx.t("parse.did_you_mean", names=(f"`{close[0]}`",))
    raise _refuse(message, "status", ctx)


def _role(word: str, ctx: _Context) -> str:
    """The configured role a user named (any case)."""
    folded = _fold(word)
    for role in ctx.roles:
        if _fold(role) == folded:
            return role
    if folded == LEAD_ROLE:
        return LEAD_ROLE
    if word.startswith("@"):
        raise _refuse(_bare_mention_message(word, ctx), "role", ctx)
    roles = ", ".join(ctx.roles) or ctx.t("help.none_configured")
    raise _refuse(ctx.t("parse.not_role", word=_shown(word), roles=roles), "role", ctx)


def _bare_mention_message(word: str, ctx: _Context) -> str:
    """Why `@name` typed as text does not name anyone."""
    return ctx.t("parse.bare_mention", word=_shown(word))


def _mention(word: str, name: str, ctx: _Context) -> str:
    """The user ID of a mention, or a refusal that explains how to mention someone."""
    user_id = parse_mention(word)
    if user_id is not None:
        return user_id
    if word.startswith("<!subteam"):
        message = ctx.t("parse.mention_group")
    elif word.startswith("<#"):
        message = ctx.t("parse.mention_channel")
    elif word.startswith(("@", "＠")):
        message = _bare_mention_message(word, ctx)
    else:
        message = ctx.t("parse.not_mention", word=_shown(word))
    raise _refuse(message, name, ctx)


def _time_message(exc: TimeParseError, ctx: _Context) -> str:
    """What was wrong with a time or duration (the forms go in the usage)."""
    return exc.reason.render(ctx.lang)


def _at_option(args: _Args, ctx: _Context, name: str) -> datetime | None:
    """Reads `at <time>` if the words start with it: the longest run of words that reads as a time."""
    word = args.peek()
    if word is None or _fold(word) != "at":
        return None
    args.take()
    available = min(MAX_TIME_TOKENS, args.remaining())
    for count in range(available, 0, -1):
        candidate = args.source[args.tokens[args.position].start : args.tokens[args.position + count - 1].end]
        try:
            at = parse_time(candidate, now=ctx.now, tz=ctx.tz)
        except TimeParseError as exc:
            if exc.recognized:
                raise _refuse(_time_message(exc, ctx), name, ctx, forms=_times(ctx)) from exc
            continue
        args.take(count)
        return at
    following = args.peek()
    message = (
        ctx.t("parse.at_without_time")
        if following is None
        else ctx.t("parse.at_unreadable", word=_shown(following))
    )
    if name == "note" and following is not None:
        message += ctx.t("parse.sentences_joiner") + ctx.t("parse.note_at_hint")
    raise _refuse(message, name, ctx, forms=_times(ctx))


def _only_time(args: _Args, ctx: _Context, name: str) -> datetime | None:
    """`[at <time>]` and nothing else (`at` may be left out)."""
    word = args.peek()
    if word is None:
        return None
    if _fold(word) == "at":
        at = _at_option(args, ctx, name)
    else:
        at = _required_time(args, ctx, name)
    _no_more(args, name, ctx)
    return at


def _required_time(args: _Args, ctx: _Context, name: str) -> datetime:
    """The rest of the words as one time (an `at` in front is allowed)."""
    if (word := args.peek()) is not None and _fold(word) == "at":
        args.take()
    text = args.rest()
    if not text:
        raise _refuse(ctx.t("parse.when"), name, ctx, forms=_times(ctx))
    try:
        return parse_time(text, now=ctx.now, tz=ctx.tz)
    except TimeParseError as exc:
        raise _refuse(_time_message(exc, ctx), name, ctx, forms=_times(ctx)) from exc


def id_number(value: object) -> int | None:
    """A number Hashi put in a payload (an incident id, a page, a position) if `value` is one: 1 to 10 ASCII
    digits (str.isdigit also takes "²", which int() refuses), else None."""
    if isinstance(value, str) and 0 < len(value) <= 10 and value.isascii() and value.isdigit():
        return int(value)
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


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


def state_value(payload: dict[str, Any], block: str, field: str) -> Any:
    """The value of one input in a payload's state (a submitted view, or a click in a message with inputs):
    text, a selected option's value, the checked values, or a chosen user's id; None when it is missing or
    not of its type."""
    state: Any = payload
    for key in ("state", "values", block, field):
        state = state.get(key) if isinstance(state, dict) else None
    if not isinstance(state, dict):
        return None
    if "selected_option" in state:
        return selected_option(state)
    if "selected_options" in state:
        return sorted(selected_options(state) or ())
    if "selected_user" in state:
        user = state.get("selected_user")
        return user if isinstance(user, str) else None
    value = state.get("value")
    return value if isinstance(value, str) else None


def selected_option(element: Any) -> str | None:
    """The value of a select's chosen option (in a click or a view's state), or None when there is none of
    the right shape (nothing chosen, or a payload Slack would not send)."""
    option = element.get("selected_option") if isinstance(element, dict) else None
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else None


def selected_options(element: Any) -> frozenset[str] | None:
    """The values of a checkbox group's ticked options (in a click or a view's state; none ticked: empty), or
    None when they are not a list of options with text values."""
    options = element.get("selected_options", []) if isinstance(element, dict) else None
    if not isinstance(options, list):
        return None
    values = [option.get("value") if isinstance(option, dict) else None for option in options]
    return (
        frozenset(v for v in values if isinstance(v, str))
        if all(isinstance(v, str) for v in values)
        else None
    )


# Interactivity kinds Hashi never asks for (no legacy attachments, dialogs, shortcuts or external selects):
# Slack sends them only to an app that posts or registers such things; a signed one is answered and ignored.
UNUSED_KINDS = frozenset(
    {
        "interactive_message",
        "dialog_submission",
        "dialog_cancellation",
        "dialog_suggestion",
        "message_action",
        "shortcut",
        "block_suggestion",
        "workflow_step_edit",
    }
)


def request_body(raw: str, content_type: str | None) -> Any:
    """A Slack HTTP request's body as Slack means it: JSON (events), the JSON in the form field `payload`
    (interactivity), or the form's fields (slash commands). Bolt's own parse_body reads every form body that
    merely holds the word `payload` (a note, a channel `payload-team`, a workspace `payloadco`) as empty."""
    if not raw:
        return {}
    if content_type == "application/json" or raw.startswith("{"):
        return json.loads(raw)
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    return json.loads(fields["payload"]) if "payload" in fields else fields


def unused_kind(body: Any) -> str | None:
    """The kind of a request Hashi has no use for (see UNUSED_KINDS), else None."""
    kind = body.get("type") if isinstance(body, dict) and "command" not in body else None
    return kind if kind in UNUSED_KINDS else None


def payload_problem(body: Any) -> str | None:
    """What is wrong with a Slack request body, or None: the fields Hashi's listeners rely on must be there
    with the right types (Slack always sends them; a request without them is not from Slack)."""
    if not isinstance(body, dict):
        return "not an object"
    if "command" in body:
        for name in ("user_id", "channel_id", "response_url", "trigger_id"):
            if not isinstance(body.get(name), str) or not body.get(name):
                return f"a command without {name}"
        return None
    kind = body.get("type")
    if kind in ("block_actions", "view_submission", "view_closed"):
        user = body.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return f"{kind} without user.id"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return "block_actions without actions"
        if not isinstance(actions[0].get("action_id"), str) or not isinstance(body.get("trigger_id"), str):
            return "block_actions without action_id or trigger_id"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not all(
            isinstance(view.get(k), str) for k in ("id", "type", "callback_id")
        ):
            return f"{kind} without a view (id, type, callback_id)"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event_callback without an event type"
    return None
