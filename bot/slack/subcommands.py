"""Each `/incident` subcommand's reader: the words after its name → a typed command."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Literal

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
from bot.incidents.times import TimeParseError
from bot.incidents.windows import WINDOW_FORMS, Window, parse_window
from bot.slack.bodies import id_number
from bot.slack.text import (
    MAX_NAME,
    MAX_REASON,
    MAX_SERVICES,
    MAX_TEXT,
    MAX_TITLE,
    fold,
    free_text,
    parse_mention,
    shown,
)
from bot.slack.words import (
    DEFAULT_STATS_WINDOW,
    LEAD_ROLE,
    Context,
    Words,
    at_option,
    bare_mention_message,
    configured_role,
    limited,
    mention_word,
    no_more,
    only_time,
    refuse,
    required_time,
    severity_word,
    status_word,
    time_message,
)

_SERVICE = re.compile(r"service[:=](.*)", re.IGNORECASE | re.DOTALL)


_TYPE = re.compile(r"type[:=](.*)", re.IGNORECASE | re.DOTALL)


_IMPACT_EDGES: dict[str, Literal["start", "end"]] = {
    "start": "start",
    "started": "start",
    "begin": "start",
    "end": "end",
    "ended": "end",
    "stop": "end",
    "stopped": "end",
}


def _read_declare(args: Words, ctx: Context) -> Command:
    """`declare [SEVn] [type:<name>] <title>` (severity and type in either order); without a title it opens
    the modal."""
    severity: str | None = None
    incident_type: str | None = None
    for _ in range(2):
        first = args.peek()
        if first is None:
            break
        # A bare number is not taken as a severity here: `declare 500 errors on checkout` is a title.
        if severity is None and (severity := severity_word(first, ctx, allow_number=False)) is not None:
            args.take()
        elif incident_type is None and (named := _TYPE.fullmatch(unicodedata.normalize("NFKC", first))):
            args.take()
            incident_type = free_text(named.group(1), one_line=True)
            if not incident_type:
                raise refuse(ctx.t("parse.which_type"), "declare", ctx)
        else:
            break
    title = free_text(args.rest(), one_line=True)
    if not title:
        return OpenDeclareModal()
    if len(title) > MAX_TITLE:
        raise refuse(
            ctx.t("parse.too_long", what=ctx.t("parse.what.title"), length=len(title), limit=MAX_TITLE),
            "declare",
            ctx,
        )
    return Declare(severity=severity, title=title, incident_type=incident_type)


def _read_list(args: Words, ctx: Context) -> Command:
    """`list`."""
    no_more(args, "list", ctx)
    return ListIncidents()


def _read_help(args: Words, _ctx: Context) -> Command:
    """`help` (anything after it is ignored)."""
    args.rest()
    return Help()


def _read_stats(args: Words, ctx: Context) -> Command:
    """`stats [<window>|<since>..<until>|all] [service:<name>]`, in either order."""
    window: Window | None = None
    window_text = DEFAULT_STATS_WINDOW
    service: str | None = None
    while (word := args.peek()) is not None:
        args.take()
        if (named := _SERVICE.fullmatch(unicodedata.normalize("NFKC", word))) is not None:
            value = named.group(1) or (args.take() if args.peek() is not None else "")
            if service is not None or not (service := free_text(value, one_line=True)):
                raise refuse(ctx.t("parse.one_service"), "stats", ctx)
        elif window is None:
            try:
                window = parse_window(word, now=ctx.now, tz=ctx.tz)
            except TimeParseError as exc:
                raise refuse(
                    time_message(exc, ctx),
                    "stats",
                    ctx,
                    forms=ctx.t("parse.window_forms", forms=WINDOW_FORMS),
                ) from exc
            window_text = "".join(fold(word).split())
        else:
            raise refuse(ctx.t("parse.not_understood", word=shown(word)), "stats", ctx)
    if window is None:
        window = parse_window(DEFAULT_STATS_WINDOW, now=ctx.now, tz=ctx.tz)
    return Stats(window=window, window_text=window_text, service=service)


GLOBAL_READERS: dict[str, Callable[[Words, Context], Command]] = {
    "declare": _read_declare,
    "list": _read_list,
    "stats": _read_stats,
    "help": _read_help,
}


def _read_sev(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`sev <SEVn> [reason]`."""
    word = args.peek()
    if word is None:
        raise refuse(ctx.t("parse.which_severity"), "sev", ctx)
    severity = severity_word(word, ctx, allow_number=True)
    if severity is None:
        codes = ", ".join(ctx.severities)
        raise refuse(ctx.t("parse.not_severity", word=shown(word), codes=codes), "sev", ctx)
    args.take()
    reason = limited(free_text(args.rest()), MAX_REASON, "reason", "sev", ctx)
    return SetSeverity(incident_id=incident_id, severity=severity, reason=reason)


def _read_status(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`status <status> [at <time>] [message]`."""
    word = args.peek()
    if word is None:
        raise refuse(ctx.t("parse.which_status"), "status", ctx)
    status = status_word(word, ctx)
    args.take()
    at = at_option(args, ctx, "status")
    message = limited(free_text(args.rest()), MAX_TEXT, "message", "status", ctx)
    return SetStatus(incident_id=incident_id, status=status, at=at, message=message)


def _read_ack(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`ack [at <time>]`."""
    return Acknowledge(incident_id=incident_id, at=only_time(args, ctx, "ack"))


def _read_mitigated(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`mitigated [at <time>]`."""
    return Mitigated(incident_id=incident_id, at=only_time(args, ctx, "mitigated"))


def _read_lead(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`lead <@user>`."""
    word = args.peek()
    if word is None:
        raise refuse(ctx.t("parse.who_leads"), "lead", ctx)
    user_id = mention_word(word, "lead", ctx)
    args.take()
    no_more(args, "lead", ctx)
    return SetLead(incident_id=incident_id, user_id=user_id)


_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _read_page(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`page <@user>` or `page <service>`."""
    word = args.peek()
    if word is None:
        raise refuse(ctx.t("parse.page_whom"), "page", ctx)
    if word.startswith(("<@", "<!", "<#", "@")):
        target = f"user:{mention_word(word, 'page', ctx)}"
    elif _SERVICE_NAME.fullmatch(word):
        target = f"service:{word}"
    else:
        raise refuse(ctx.t("parse.page_target", word=shown(word)), "page", ctx)
    args.take()
    no_more(args, "page", ctx)
    return Page(incident_id=incident_id, target=target)


def _read_role(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`role <role> <@user>` (the mention may come first); `role lead` sets the lead."""
    first, second = args.peek(), args.peek(1)
    if first is None or second is None:
        raise refuse(ctx.t("parse.role_and_person"), "role", ctx)
    role_word, person = (second, first) if parse_mention(first) else (first, second)
    role = configured_role(role_word, ctx)
    user_id = mention_word(person, "role", ctx)
    args.take(2)
    no_more(args, "role", ctx)
    if role == LEAD_ROLE:
        return SetLead(incident_id=incident_id, user_id=user_id)
    return AssignRole(incident_id=incident_id, role=role, user_id=user_id)


def _read_note(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`note [at <time>] <text>` (alias `log`)."""
    at = at_option(args, ctx, "note")
    text = free_text(args.rest())
    if not text:
        raise refuse(ctx.t("parse.note_empty"), "note", ctx)
    return AddNote(incident_id=incident_id, at=at, text=limited(text, MAX_TEXT, "note", "note", ctx))


def _read_impact(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`impact start|end <time>`."""
    word = args.peek()
    edge = _IMPACT_EDGES.get(fold(word)) if word is not None else None
    if word is None or edge is None:
        raise refuse(ctx.t("parse.impact_edge"), "impact", ctx)
    args.take()
    return SetImpact(incident_id=incident_id, edge=edge, at=required_time(args, ctx, "impact"))


def _read_detected(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`detected <time>`."""
    return SetDetected(incident_id=incident_id, at=required_time(args, ctx, "detected"))


def _read_type(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`type <name>`."""
    word = args.peek()
    if word is None:
        raise refuse(ctx.t("parse.which_type"), "type", ctx)
    args.take()
    no_more(args, "type", ctx)
    return SetType(
        incident_id=incident_id, incident_type=limited(free_text(word), MAX_NAME, "name", "type", ctx)
    )


def _read_set(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`set <field> <value>` (a value of several words is taken whole)."""
    word = args.peek()
    if word is None or args.remaining() < 2:
        raise refuse(ctx.t("parse.field_and_value"), "set", ctx)
    args.take()
    name = limited(free_text(word), MAX_NAME, "name", "set", ctx)
    value = limited(free_text(args.rest(), one_line=True), MAX_REASON, "value", "set", ctx)
    return SetField(incident_id=incident_id, name=name, value=value)


def _read_services(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`services <a>, <b>` replaces them; `+<c>` adds, `-<d>` removes (alone, or after a replacement)."""
    text = limited(free_text(args.rest(), one_line=True), MAX_SERVICES, "services", "services", ctx)
    names = [part.strip() for chunk in text.split(",") for part in _service_words(chunk)]
    if not [n for n in names if n.lstrip("+-").strip()]:
        raise refuse(ctx.t("parse.which_services"), "services", ctx)
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


def _read_resolve(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`resolve [at <time>] [summary]`."""
    at = at_option(args, ctx, "resolve")
    summary = limited(free_text(args.rest()), MAX_TEXT, "summary", "resolve", ctx)
    return Resolve(incident_id=incident_id, at=at, summary=summary)


def _read_reopen(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`reopen`."""
    no_more(args, "reopen", ctx)
    return Reopen(incident_id=incident_id)


def _read_close(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`close`."""
    no_more(args, "close", ctx)
    return Close(incident_id=incident_id)


def _read_checklist(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`checklist`."""
    no_more(args, "checklist", ctx)
    return ShowChecklist(incident_id=incident_id)


def _read_timeline(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`timeline [page]`."""
    word = args.peek()
    page = 1
    if word is not None:
        number = id_number(unicodedata.normalize("NFKC", word))
        if number is None or number < 1:
            raise refuse(ctx.t("parse.not_understood", word=shown(word)), "timeline", ctx)
        args.take()
        page = number
    no_more(args, "timeline", ctx)
    return ShowTimeline(incident_id=incident_id, page=page)


def _read_playbook(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`playbook <name>`."""
    name = free_text(args.rest(), one_line=True)
    if not name:
        raise refuse(ctx.t("parse.which_playbook"), "playbook", ctx)
    return StartPlaybook(incident_id=incident_id, name=limited(name, MAX_TITLE, "name", "playbook", ctx))


def _read_followup(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`followup <text> [<@owner>]`: a mention at the very end is the owner."""
    owner: str | None = None
    if args.remaining() > 0:
        last = args.tokens[-1].text
        if (owner := parse_mention(last)) is None and last.startswith("@") and len(last) > 1:
            raise refuse(bare_mention_message(last, ctx), "followup", ctx)
    if owner is not None:
        args.tokens = args.tokens[:-1]
    text = free_text(args.rest())
    if not text:
        raise refuse(ctx.t("parse.followup_empty"), "followup", ctx)
    text = limited(text, MAX_TEXT, "follow-up", "followup", ctx)
    return AddFollowup(incident_id=incident_id, text=text, owner=owner)


def _read_statuspage(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`statuspage publish <message>`."""
    if (args.peek() or "").lower() != "publish":
        raise refuse(ctx.t("parse.statuspage_what"), "statuspage", ctx)
    args.take()
    message = free_text(args.rest())
    if not message:
        raise refuse(ctx.t("parse.statuspage_message"), "statuspage", ctx)
    message = limited(message, MAX_TEXT, "status-page-message", "statuspage", ctx)
    return PublishStatuspage(incident_id=incident_id, message=message)


def _read_postmortem(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`postmortem`."""
    no_more(args, "postmortem", ctx)
    return Postmortem(incident_id=incident_id)


def _read_retry(args: Words, ctx: Context, incident_id: int | None) -> Command:
    """`retry`."""
    no_more(args, "retry", ctx)
    return RetrySetup(incident_id=incident_id)


INCIDENT_READERS: dict[str, Callable[[Words, Context, int | None], Command]] = {
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
