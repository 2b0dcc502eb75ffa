"""The `/incident` command's words: tokens, context, refusals, reading one value (severity, role, time…)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Lang, t
from bot.incidents.model import SETTABLE_STATUSES, Status
from bot.incidents.times import TIME_FORMS, TimeParseError, parse_time
from bot.slack.text import fold, parse_mention, shown

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


class Refusal(Exception):
    """Stops parsing with the ParseError to return; parse_command catches it, and it goes no further."""

    def __init__(self, error: ParseError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, slots=True)
class Token:
    """One whitespace-separated word of the command text, with where it stands."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Context:
    """What parsing depends on besides the text."""

    severities: tuple[str, ...]
    roles: tuple[str, ...]
    now: datetime
    tz: ZoneInfo
    lang: Lang

    def t(self, key: str, /, **params: object) -> str:
        """A catalogue text in the user's language."""
        return t(key, self.lang, **params)


class Words:
    """The words after the subcommand, read left to right; free text is taken from the source as typed."""

    def __init__(self, source: str, tokens: list[Token], position: int = 0) -> None:
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
TOKEN = re.compile(r"(?:<[^<>]*>|<|[^\s<])+")


INCIDENT_ID = re.compile(r"(?:inc-?|#)([0-9]{1,9})", re.ASCII | re.IGNORECASE)


TRAILING_NUMBER = re.compile(r"([0-9]+)$", re.ASCII)


def usage_line(name: str, *, severities: Sequence[str], roles: Sequence[str], lang: Lang) -> str:
    """The usage line of one subcommand, filled from the configuration (plain text)."""
    return t(
        f"usage.{name}",
        lang,
        sev="|".join(severities) or "SEVn",
        roles="|".join(r for r in roles if r != LEAD_ROLE) or "role",
        statuses="|".join(SETTABLE_STATUSES),
    )


def refuse(message: str, name: str, ctx: Context, *, forms: str = "") -> Refusal:
    """The refusal for a subcommand, with its one-line usage (and the accepted forms of a time or window)."""
    usage = usage_line(name, severities=ctx.severities, roles=ctx.roles, lang=ctx.lang)
    if forms:
        message = f"{message} {forms}"
    return Refusal(ParseError(message=message, usage=usage))


def time_forms(ctx: Context) -> str:
    return ctx.t("parse.time_forms", forms=TIME_FORMS)


def named_incident(word: str | None) -> int | None:
    """The id a word names as an incident (`INC-12`, `inc-12` or `#12`), else None."""
    if word is None:
        return None
    found = INCIDENT_ID.fullmatch(fold(word))
    return int(found.group(1)) if found else None


def no_more(args: Words, name: str, ctx: Context) -> None:
    """Refuses words the subcommand does not take."""
    if args.remaining() > 0:
        unexpected = args.rest()
        raise refuse(ctx.t("parse.nothing_more", name=name, word=shown(unexpected)), name, ctx)


def limited(text: str, limit: int, what: str, name: str, ctx: Context) -> str:
    """The text, or a refusal naming the limit."""
    if len(text) > limit:
        raise refuse(
            ctx.t("parse.too_long", what=ctx.t(f"parse.what.{what}"), length=len(text), limit=limit),
            name,
            ctx,
        )
    return text


def severity_word(word: str, ctx: Context, *, allow_number: bool) -> str | None:
    """The configured code a user meant (`sev1`, `SEV-1`, or with allow_number `1`), else None."""

    def squash(code: str) -> str:
        return "".join(c for c in fold(code) if c not in "-_ ")

    key = squash(word)
    for code in ctx.severities:
        if squash(code) == key:
            return code
    if allow_number and key.isascii() and key.isdigit():
        numbered = [
            code
            for code in ctx.severities
            if (found := TRAILING_NUMBER.search(code)) and found.group(1).lstrip("0") == key.lstrip("0")
        ]
        if len(numbered) == 1:
            return numbered[0]
    return None


def status_word(word: str, ctx: Context) -> Status:
    """The settable status a user meant (a unique prefix of three letters or more works too)."""
    folded = fold(word)
    names = [str(status) for status in SETTABLE_STATUSES]
    matches = [s for s in SETTABLE_STATUSES if s == folded or (len(folded) >= 3 and s.startswith(folded))]
    if len(matches) == 1:
        return matches[0]
    if folded in ("close", "closed"):
        raise refuse(ctx.t("parse.use_close"), "status", ctx)
    if folded in ("open", "reopen", "reopened"):
        raise refuse(ctx.t("parse.use_reopen"), "status", ctx)
    message = ctx.t("parse.not_status", word=shown(word), names=", ".join(names))
    close = difflib.get_close_matches(folded, names, n=1, cutoff=0.6)
    if close:
        message += ctx.t("parse.sentences_joiner") + ctx.t("parse.did_you_mean", names=(f"`{close[0]}`",))
    raise refuse(message, "status", ctx)


def configured_role(word: str, ctx: Context) -> str:
    """The configured role a user named (any case)."""
    folded = fold(word)
    for role in ctx.roles:
        if fold(role) == folded:
            return role
    if folded == LEAD_ROLE:
        return LEAD_ROLE
    if word.startswith("@"):
        raise refuse(bare_mention_message(word, ctx), "role", ctx)
    roles = ", ".join(ctx.roles) or ctx.t("help.none_configured")
    raise refuse(ctx.t("parse.not_role", word=shown(word), roles=roles), "role", ctx)


def bare_mention_message(word: str, ctx: Context) -> str:
    """Why `@name` typed as text does not name anyone."""
    return ctx.t("parse.bare_mention", word=shown(word))


def mention_word(word: str, name: str, ctx: Context) -> str:
    """The user ID of a mention, or a refusal that explains how to mention someone."""
    user_id = parse_mention(word)
    if user_id is not None:
        return user_id
    if word.startswith("<!subteam"):
        message = ctx.t("parse.mention_group")
    elif word.startswith("<#"):
        message = ctx.t("parse.mention_channel")
    elif word.startswith(("@", "＠")):
        message = bare_mention_message(word, ctx)
    else:
        message = ctx.t("parse.not_mention", word=shown(word))
    raise refuse(message, name, ctx)


def time_message(exc: TimeParseError, ctx: Context) -> str:
    """What was wrong with a time or duration (the forms go in the usage)."""
    return exc.reason.render(ctx.lang)


def at_option(args: Words, ctx: Context, name: str) -> datetime | None:
    """Reads `at <time>` if the words start with it: the longest run of words that reads as a time."""
    word = args.peek()
    if word is None or fold(word) != "at":
        return None
    args.take()
    available = min(MAX_TIME_TOKENS, args.remaining())
    for count in range(available, 0, -1):
        candidate = args.source[args.tokens[args.position].start : args.tokens[args.position + count - 1].end]
        try:
            at = parse_time(candidate, now=ctx.now, tz=ctx.tz)
        except TimeParseError as exc:
            if exc.recognized:
                raise refuse(time_message(exc, ctx), name, ctx, forms=time_forms(ctx)) from exc
            continue
        args.take(count)
        return at
    following = args.peek()
    message = (
        ctx.t("parse.at_without_time")
        if following is None
        else ctx.t("parse.at_unreadable", word=shown(following))
    )
    if name == "note" and following is not None:
        message += ctx.t("parse.sentences_joiner") + ctx.t("parse.note_at_hint")
    raise refuse(message, name, ctx, forms=time_forms(ctx))


def only_time(args: Words, ctx: Context, name: str) -> datetime | None:
    """`[at <time>]` and nothing else (`at` may be left out)."""
    word = args.peek()
    if word is None:
        return None
    if fold(word) == "at":
        at = at_option(args, ctx, name)
    else:
        at = required_time(args, ctx, name)
    no_more(args, name, ctx)
    return at


def required_time(args: Words, ctx: Context, name: str) -> datetime:
    """The rest of the words as one time (an `at` in front is allowed)."""
    if (word := args.peek()) is not None and fold(word) == "at":
        args.take()
    text = args.rest()
    if not text:
        raise refuse(ctx.t("parse.when"), name, ctx, forms=time_forms(ctx))
    try:
        return parse_time(text, now=ctx.now, tz=ctx.tz)
    except TimeParseError as exc:
        raise refuse(time_message(exc, ctx), name, ctx, forms=time_forms(ctx)) from exc
