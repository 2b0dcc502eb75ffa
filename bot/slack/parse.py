"""`/incident` command text → a typed command, or a ParseError that tells the user the right form."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import DEFAULT_LANG, Lang, t
from bot.incidents.commands import (
    Command,
    OpenDeclareModal,
)
from bot.incidents.escaping import escape_mrkdwn
from bot.incidents.times import TIME_FORMS
from bot.slack.subcommands import GLOBAL_READERS, INCIDENT_READERS
from bot.slack.text import fold, shown, without_controls
from bot.slack.words import (
    TOKEN,
    Context,
    ParseError,
    Refusal,
    Token,
    Words,
    named_incident,
    refuse,
    usage_line,
)

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


def usage_text(severities: Sequence[str], roles: Sequence[str], lang: Lang = DEFAULT_LANG) -> str:
    """The whole `/incident` help, in Slack mrkdwn."""

    def line(name: str) -> str:
        usage = escape_mrkdwn(usage_line(name, severities=severities, roles=roles, lang=lang))
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
    ctx = Context(tuple(severities), tuple(roles), now, tz, lang)
    source = without_controls(text)
    tokens = [Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(source)]
    try:
        return _parse(Words(source, tokens), ctx)
    except Refusal as refusal:
        return refusal.error


def _parse(args: Words, ctx: Context) -> Command:
    """Reads the optional incident id and the subcommand, then hands the rest to the subcommand's reader."""
    if args.remaining() == 0:
        return OpenDeclareModal()
    incident_id = named_incident(args.peek())
    if incident_id is not None:
        shown_id = args.take()
        if args.remaining() == 0:
            raise Refusal(
                ParseError(
                    message=ctx.t("parse.id_without_command", id=shown(shown_id)),
                    usage=ctx.t("parse.id_usage", id=incident_id),
                )
            )
    word = args.take()
    name = _ALIASES.get(fold(word))
    if name is None:
        raise _unknown(word, args, ctx)
    second_id = named_incident(args.peek())
    if second_id is not None:
        if incident_id is not None:
            raise refuse(ctx.t("parse.id_twice"), name, ctx)
        args.take()
        incident_id = second_id
    if name in _ANYWHERE:
        if incident_id is not None:
            raise refuse(ctx.t("parse.no_id_here", name=name), name, ctx)
        return GLOBAL_READERS[name](args, ctx)
    if incident_id == 0:
        raise refuse(ctx.t("parse.id_zero"), name, ctx)
    return INCIDENT_READERS[name](args, ctx, incident_id)


def _unknown(word: str, args: Words, ctx: Context) -> Refusal:
    """The refusal for a subcommand that does not exist, suggesting the closest one."""
    close = difflib.get_close_matches(fold(word), list(_ALIASES), n=3, cutoff=0.6)
    names = list(dict.fromkeys(_ALIASES[match] for match in close))[:2]
    parts = [ctx.t("parse.unknown_command", word=shown(word))]
    if names:
        parts.append(ctx.t("parse.did_you_mean", names=tuple(f"`{name}`" for name in names)))
    if args.remaining() > 0:
        parts.append(ctx.t("parse.declare_hint"))
    parts.append(ctx.t("parse.help_hint"))
    return Refusal(ParseError(message=ctx.t("parse.sentences_joiner").join(parts), usage="/incident help"))
