"""`/incident`: ack at once, parse, one service call, reply (ephemeral to the user, a line in the channel)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.i18n import DEFAULT_LANG, Lang, Msg, t
from bot.incidents import commands as cmd
from bot.incidents.deliveries import delivery_time
from bot.incidents.errors import ChatError, IncidentError, RequiredItemsOpen
from bot.incidents.fields import Required
from bot.incidents.model import Milestone, Status
from bot.slack.blocks.confirmations import gate_blocks
from bot.slack.blocks.messages import answer_messages
from bot.slack.blocks.modals import declare_modal
from bot.slack.blocks.mrkdwn import error_text, slack_refused_text, steps_text, user_text
from bot.slack.listeners.context import Deps, incident_named_or_here
from bot.slack.listeners.replies import (
    Reply,
    export_postmortem,
    list_page,
    show_checklist,
    show_stats,
    statuspage_confirmation,
    timeline_page,
)
from bot.slack.parse import parse_command, usage_text
from bot.slack.payloads import DeclareModalMeta
from bot.slack.words import ParseError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Invocation:
    """Who typed the command, where, and when."""

    user_id: str
    channel_id: str
    trigger_id: str
    tz: ZoneInfo
    # The user's language, looked up beside the command's work (users.info must not lengthen a declaration).
    language_lookup: Awaitable[Lang]

    async def language(self) -> Lang:
        """The language to answer in."""
        return await self.language_lookup


Handler = Callable[[Any, Invocation, Deps], Awaitable[Reply]]
UTC_ZONE = ZoneInfo("UTC")


def _carries_time(command: Any) -> bool:
    """Whether a parsed command holds a time the user wrote (which their time zone may change), or a stats
    window with dates (read and shown in it)."""
    if isinstance(command, cmd.Stats):
        return command.window.span is None
    return any(isinstance(getattr(command, f.name), datetime) for f in fields(command))


async def _command_incident(command: Any, where: Invocation, deps: Deps) -> int:
    """The incident a command names (`INC-12`), else the one whose channel it was typed in. Whether the user
    may see it is the service's to check (a private incident is 'not found' for anyone outside it)."""
    named = getattr(command, "incident_id", None)
    return await incident_named_or_here(
        deps,
        named=int(named) if named is not None else None,
        channel_id=where.channel_id,
        elsewhere=Msg("errors.not_incident_channel"),
    )


async def _declare_modal(_: Any, where: Invocation, deps: Deps) -> Reply:
    await _open_declare_modal(where, deps, tz=where.tz, lang=await where.language())
    return None


async def _open_declare_modal(
    where: Invocation, deps: Deps, *, tz: ZoneInfo, lang: Lang, filled: cmd.Declare | None = None
) -> None:
    """Opens the declare modal (filled in with a quick declaration's title, severity and type)."""
    view = declare_modal(
        severities=deps.severities,
        default_severity=(filled and filled.severity) or deps.settings.team.default,
        lang=lang,
        meta=DeclareModalMeta(channel_id=where.channel_id, zone=tz.key, lang=lang),
        shape=deps.shape,
        title=filled.title if filled else "",
        incident_type=deps.shape.incident_type(filled.incident_type) if filled else None,
    )
    await deps.gateway.open_modal(trigger_id=where.trigger_id, view=view)


async def _declare(c: cmd.Declare, where: Invocation, deps: Deps) -> Reply:
    if deps.shape.missing(Required.DECLARE, {}):
        # Fields required to declare cannot be typed here: the modal asks for them, filled in with the rest
        # (its "detected at" reads in the user's zone, which this command did not need until now).
        tz, lang = await deps.user_prefs(where.user_id)
        await _open_declare_modal(where, deps, tz=tz, lang=lang, filled=c)
        return None
    setup = await deps.service.declare(
        title=c.title,
        severity=c.severity,
        actor=where.user_id,
        request_key=f"command:{where.trigger_id}",
        incident_type=c.incident_type,
    )
    return declared_reply(setup.incident, setup.missing, lang=await where.language())


def declared_reply(incident: Any, missing: tuple[str, ...], *, lang: Lang, verb: str = "declared") -> str:
    """What the declarer is told: where the room is, what Slack could not do (`verb`: declared, set_up)."""
    room = f"<#{incident.channel_id}>" if incident.channel_id else t("commands.no_channel", lang)
    text = t(f"commands.{verb}", lang, id=incident.id, severity=user_text(incident.severity), room=room)
    if missing:
        text += "\n" + t("commands.missing", lang, steps=steps_text(missing, lang), id=incident.id)
    return text


async def _list(_: cmd.ListIncidents, where: Invocation, deps: Deps) -> Reply:
    return await list_page(deps, user_id=where.user_id, number=1, lang=await where.language())


async def _help(_: cmd.Help, where: Invocation, deps: Deps) -> Reply:
    return usage_text(deps.severities, deps.roles, await where.language())


async def _stats(c: cmd.Stats, where: Invocation, deps: Deps) -> Reply:
    return await show_stats(
        deps,
        user_id=where.user_id,
        window=c.window,
        window_text=c.window_text,
        service=c.service,
        lang=await where.language(),
        tz=where.tz,
    )


async def _severity(c: cmd.SetSeverity, where: Invocation, deps: Deps) -> Reply:
    await deps.service.set_severity(
        incident_id=await _command_incident(c, where, deps),
        severity=c.severity,
        actor=where.user_id,
        reason=c.reason,
    )
    return None


async def _status(c: cmd.SetStatus, where: Invocation, deps: Deps) -> Reply:
    if c.status is Status.RESOLVED:
        return await _resolve(cmd.Resolve(incident_id=c.incident_id, at=c.at, summary=c.message), where, deps)
    incident_id = await _command_incident(c, where, deps)
    await deps.service.set_status(
        incident_id=incident_id,
        status=c.status,
        actor=where.user_id,
        at=c.at,
        message=c.message,
    )
    return await statuspage_confirmation(
        deps, incident_id=incident_id, status=c.status, message=c.message, lang=await where.language()
    )


async def _ack(c: cmd.Acknowledge, where: Invocation, deps: Deps) -> Reply:
    await deps.service.acknowledge(
        incident_id=await _command_incident(c, where, deps), actor=where.user_id, at=c.at
    )
    return None


async def _mitigated(c: cmd.Mitigated, where: Invocation, deps: Deps) -> Reply:
    await deps.service.mark_mitigated(
        incident_id=await _command_incident(c, where, deps), actor=where.user_id, at=c.at
    )
    return None


async def _lead(c: cmd.SetLead, where: Invocation, deps: Deps) -> Reply:
    await deps.service.assign_role(
        incident_id=await _command_incident(c, where, deps),
        role="lead",
        user_id=c.user_id,
        actor=where.user_id,
    )
    return None


async def _page(c: cmd.Page, where: Invocation, deps: Deps) -> Reply:
    await deps.service.page(
        incident_id=await _command_incident(c, where, deps), target=c.target, actor=where.user_id
    )
    return None


async def _role(c: cmd.AssignRole, where: Invocation, deps: Deps) -> Reply:
    await deps.service.assign_role(
        incident_id=await _command_incident(c, where, deps),
        role=c.role,
        user_id=c.user_id,
        actor=where.user_id,
    )
    return None


async def _note(c: cmd.AddNote, where: Invocation, deps: Deps) -> Reply:
    await deps.service.add_note(
        incident_id=await _command_incident(c, where, deps), text=c.text, actor=where.user_id, at=c.at
    )
    return None


async def _impact(c: cmd.SetImpact, where: Invocation, deps: Deps) -> Reply:
    milestone = Milestone.IMPACT_STARTED if c.edge == "start" else Milestone.IMPACT_ENDED
    await deps.service.set_milestone(
        incident_id=await _command_incident(c, where, deps), milestone=milestone, actor=where.user_id, at=c.at
    )
    return None


async def _detected(c: cmd.SetDetected, where: Invocation, deps: Deps) -> Reply:
    await deps.service.set_milestone(
        incident_id=await _command_incident(c, where, deps),
        milestone=Milestone.DETECTED,
        actor=where.user_id,
        at=c.at,
    )
    return None


async def _type(c: cmd.SetType, where: Invocation, deps: Deps) -> Reply:
    await deps.service.set_type(
        incident_id=await _command_incident(c, where, deps),
        incident_type=c.incident_type,
        actor=where.user_id,
    )
    return None


async def _set(c: cmd.SetField, where: Invocation, deps: Deps) -> Reply:
    await deps.service.set_field(
        incident_id=await _command_incident(c, where, deps), name=c.name, value=c.value, actor=where.user_id
    )
    return None


async def _services(c: cmd.SetServices, where: Invocation, deps: Deps) -> Reply:
    await deps.service.set_services(
        incident_id=await _command_incident(c, where, deps),
        actor=where.user_id,
        replace=c.replace,
        add=c.add,
        remove=c.remove,
    )
    return None


async def _resolve(c: cmd.Resolve, where: Invocation, deps: Deps) -> Reply:
    incident_id = await _command_incident(c, where, deps)
    try:
        await deps.service.resolve(incident_id=incident_id, actor=where.user_id, at=c.at, summary=c.summary)
    except RequiredItemsOpen as exc:
        return gate_blocks(
            incident_id=incident_id, items=exc.items, summary=c.summary, at=c.at, lang=await where.language()
        )
    return await statuspage_confirmation(
        deps, incident_id=incident_id, status=Status.RESOLVED, message=c.summary, lang=await where.language()
    )


async def _reopen(c: cmd.Reopen, where: Invocation, deps: Deps) -> Reply:
    await deps.service.reopen(incident_id=await _command_incident(c, where, deps), actor=where.user_id)
    return None


async def _close(c: cmd.Close, where: Invocation, deps: Deps) -> Reply:
    await deps.service.close(incident_id=await _command_incident(c, where, deps), actor=where.user_id)
    return None


async def _checklist(c: cmd.ShowChecklist, where: Invocation, deps: Deps) -> Reply:
    incident_id = await _command_incident(c, where, deps)
    return await show_checklist(
        deps, incident_id=incident_id, user_id=where.user_id, lang=await where.language()
    )


async def _timeline(c: cmd.ShowTimeline, where: Invocation, deps: Deps) -> Reply:
    incident_id = await _command_incident(c, where, deps)
    return await timeline_page(
        deps, incident_id=incident_id, user_id=where.user_id, number=c.page, lang=await where.language()
    )


async def _playbook(c: cmd.StartPlaybook, where: Invocation, deps: Deps) -> Reply:
    started = await deps.service.start_playbook(
        incident_id=await _command_incident(c, where, deps), name=c.name, actor=where.user_id
    )
    return t("commands.playbook_started", await where.language(), title=user_text(started))


async def _followup(c: cmd.AddFollowup, where: Invocation, deps: Deps) -> Reply:
    recorded = await deps.service.add_followup(
        incident_id=await _command_incident(c, where, deps), text=c.text, actor=where.user_id, owner=c.owner
    )
    if recorded.tracker is None:
        return None
    lang = await where.language()
    if recorded.ticket is None:
        tracker = "GitHub" if recorded.tracker == "github" else "Jira"
        return t("commands.followup_pending", lang, tracker=tracker)
    ticket = recorded.ticket
    return t("commands.followup_filed", lang, key=user_text(ticket.key), url=user_text(ticket.url))


async def _statuspage(c: cmd.PublishStatuspage, where: Invocation, deps: Deps) -> Reply:
    incident_id = await _command_incident(c, where, deps)
    sent = await deps.service.status_pages.publish(
        incident_id=incident_id, actor=where.user_id, message=c.message
    )
    lang = await where.language()
    if sent is None:
        return t("commands.statuspage_pending", lang, id=incident_id)
    url = user_text(sent.shortlink or sent.page_incident_id or "")
    return t("commands.statuspage_opened", lang, id=incident_id, url=url)


async def _postmortem(c: cmd.Postmortem, where: Invocation, deps: Deps) -> Reply:
    incident_id = await _command_incident(c, where, deps)
    return await export_postmortem(
        deps, incident_id=incident_id, user_id=where.user_id, lang=await where.language()
    )


async def _retry(c: cmd.RetrySetup, where: Invocation, deps: Deps) -> Reply:
    incident_id = await _command_incident(c, where, deps)
    await deps.service.check_visible(incident_id=incident_id, user_id=where.user_id)
    setup = await deps.service.ensure_room(incident_id=incident_id)
    return declared_reply(setup.incident, setup.missing, lang=await where.language(), verb="set_up")


HANDLERS: dict[type, Handler] = {
    cmd.OpenDeclareModal: _declare_modal,
    cmd.Declare: _declare,
    cmd.ListIncidents: _list,
    cmd.Help: _help,
    cmd.Stats: _stats,
    cmd.SetSeverity: _severity,
    cmd.SetStatus: _status,
    cmd.Acknowledge: _ack,
    cmd.Mitigated: _mitigated,
    cmd.SetLead: _lead,
    cmd.AssignRole: _role,
    cmd.AddNote: _note,
    cmd.SetImpact: _impact,
    cmd.SetDetected: _detected,
    cmd.SetType: _type,
    cmd.SetField: _set,
    cmd.SetServices: _services,
    cmd.Resolve: _resolve,
    cmd.Reopen: _reopen,
    cmd.Close: _close,
    cmd.ShowChecklist: _checklist,
    cmd.ShowTimeline: _timeline,
    cmd.StartPlaybook: _playbook,
    cmd.AddFollowup: _followup,
    cmd.PublishStatuspage: _statuspage,
    cmd.Page: _page,
    cmd.Postmortem: _postmortem,
    cmd.RetrySetup: _retry,
}


async def reply(respond: AsyncRespond, message: Reply, where: Invocation) -> None:
    """Sends an ephemeral reply (text or blocks) to the user who typed the command."""
    if message is None:
        return
    fallback = "" if isinstance(message, str) else t("slack.blocks_fallback", await where.language())
    for part in answer_messages(message, fallback=fallback):
        await respond(text=part.text, blocks=part.blocks, response_type="ephemeral")


async def incident_command(deps: Deps, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
    """`/incident …`: parsed, then its handler (HANDLERS), answered to the one who typed it."""
    await ack()
    await deps.turns.after_ack()
    user_id, text, now = command["user_id"], command.get("text", ""), delivery_time()
    # The user's zone and language come from users.info (cached). With the language fixed in hashi.toml,
    # most commands carry no time and need no lookup at all; the zone matters when one does, when the
    # command failed (a time may be why), and for the declare modal's "detected at".
    tz, fixed = UTC_ZONE, deps.settings.team.language
    parsed = parse_command(
        text, severities=deps.severities, roles=deps.roles, now=now, tz=tz, lang=fixed or DEFAULT_LANG
    )
    lookup: asyncio.Future[Lang] = asyncio.get_running_loop().create_future()
    if isinstance(parsed, ParseError | cmd.OpenDeclareModal) or _carries_time(parsed):
        tz, lang = await deps.user_prefs(user_id)
        lookup.set_result(lang)
        parsed = parse_command(text, severities=deps.severities, roles=deps.roles, now=now, tz=tz, lang=lang)
    elif fixed is not None:
        lookup.set_result(fixed)
    else:
        lookup = asyncio.ensure_future(deps.user_language(user_id))
    where = Invocation(
        user_id=user_id,
        channel_id=command.get("channel_id", ""),
        trigger_id=command.get("trigger_id", ""),
        tz=tz,
        language_lookup=lookup,
    )
    if isinstance(parsed, ParseError):
        lang = await where.language()
        message, usage = user_text(parsed.message), user_text(parsed.usage)
        await reply(respond, t("commands.refused", lang, message=message, usage=usage), where)
        return
    try:
        await reply(respond, await HANDLERS[type(parsed)](parsed, where, deps), where)
    except IncidentError as exc:
        await reply(respond, error_text(exc, await where.language()), where)
    except ChatError as exc:
        await reply(respond, slack_refused_text(exc, await where.language()), where)
    finally:
        await asyncio.gather(lookup, return_exceptions=True)  # never leave the lookup unawaited
