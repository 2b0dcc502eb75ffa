"""`/incident`: ack at once, parse, one service call, reply (ephemeral to the user, a line in the channel)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.incidents import commands as cmd
from bot.incidents.errors import ChatError, IncidentError, RequiredItemsOpen
from bot.incidents.model import Milestone, Status
from bot.incidents.ports import SystemClock
from bot.slack import blocks
from bot.slack.listeners.context import Deps
from bot.slack.listeners.replies import Reply, export_postmortem, list_page, show_checklist, show_stats
from bot.slack.parse import ParseError, parse_command, usage_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Invocation:
    """Who typed the command, where, and when."""

    user_id: str
    channel_id: str
    trigger_id: str
    tz: ZoneInfo


Handler = Callable[[Any, Invocation, Deps], Awaitable[Reply]]
UTC_ZONE = ZoneInfo("UTC")


def _carries_time(command: Any) -> bool:
    """Whether a parsed command holds a time the user wrote (which their time zone may change)."""
    return any(isinstance(getattr(command, f.name), datetime) for f in fields(command))


async def _incident_id(command: Any, where: Invocation, deps: Deps) -> int:
    """The incident a command names (`INC-12`), else the one whose channel it was typed in; a private
    incident is 'not found' for anyone outside it, so nobody can change what they may not see."""
    if getattr(command, "incident_id", None) is not None:
        incident_id = int(command.incident_id)
    else:
        found = await deps.service.incident_for_channel(channel_id=where.channel_id)
        if found is None:
            raise IncidentError(
                "This channel is not an incident channel. Run the command in the incident's channel, "
                "or name the incident first, e.g. `/incident note INC-12 Restarted the API`."
            )
        incident_id = found
    await deps.service.check_visible(incident_id=incident_id, user_id=where.user_id)
    return incident_id


async def _declare_modal(_: Any, where: Invocation, deps: Deps) -> Reply:
    meta = json.dumps({"channel": where.channel_id, "tz": where.tz.key})
    view = blocks.declare_modal(
        severities=deps.severities, default_severity=deps.settings.team.default, channel_id=meta
    )
    await deps.gateway.open_modal(trigger_id=where.trigger_id, view=view)
    return None


async def _declare(c: cmd.Declare, where: Invocation, deps: Deps) -> Reply:
    setup = await deps.service.declare(
        title=c.title, severity=c.severity, actor=where.user_id, request_key=f"command:{where.trigger_id}"
    )
    return declared_reply(setup.incident, setup.missing)


def declared_reply(incident: Any, missing: tuple[str, ...], *, verb: str = "Declared") -> str:
    """What the declarer is told: where the room is, and what Slack could not do."""
    where = f"<#{incident.channel_id}>" if incident.channel_id else "no channel yet"
    text = f":rotating_light: {verb} *INC-{incident.id}* [{incident.severity}] — {where}"
    if missing:
        text += (
            f"\n:warning: Slack could not do: {', '.join(missing)}. The incident is recorded; "
            f"`/incident retry INC-{incident.id}` finishes it."
        )
    return text


async def _list(_: cmd.ListIncidents, where: Invocation, deps: Deps) -> Reply:
    return await list_page(deps, user_id=where.user_id, number=1)


async def _help(_: cmd.Help, _where: Invocation, deps: Deps) -> Reply:
    return usage_text(deps.severities, deps.roles)


async def _stats(c: cmd.Stats, _where: Invocation, deps: Deps) -> Reply:
    return await show_stats(deps, window=c.window, window_text=c.window_text, service=c.service)


async def _severity(c: cmd.SetSeverity, where: Invocation, deps: Deps) -> Reply:
    await deps.service.set_severity(
        incident_id=await _incident_id(c, where, deps),
        severity=c.severity,
        actor=where.user_id,
        reason=c.reason,
    )
    return None


async def _status(c: cmd.SetStatus, where: Invocation, deps: Deps) -> Reply:
    if c.status is Status.RESOLVED:
        return await _resolve(cmd.Resolve(incident_id=c.incident_id, at=c.at, summary=c.message), where, deps)
    await deps.service.set_status(
        incident_id=await _incident_id(c, where, deps),
        status=c.status,
        actor=where.user_id,
        at=c.at,
        message=c.message,
    )
    return None


async def _ack(c: cmd.Acknowledge, where: Invocation, deps: Deps) -> Reply:
    await deps.service.acknowledge(
        incident_id=await _incident_id(c, where, deps), actor=where.user_id, at=c.at
    )
    return None


async def _mitigated(c: cmd.Mitigated, where: Invocation, deps: Deps) -> Reply:
    await deps.service.mark_mitigated(
        incident_id=await _incident_id(c, where, deps), actor=where.user_id, at=c.at
    )
    return None


async def _lead(c: cmd.SetLead, where: Invocation, deps: Deps) -> Reply:
    await deps.service.assign_role(
        incident_id=await _incident_id(c, where, deps), role="lead", user_id=c.user_id, actor=where.user_id
    )
    return None


async def _role(c: cmd.AssignRole, where: Invocation, deps: Deps) -> Reply:
    await deps.service.assign_role(
        incident_id=await _incident_id(c, where, deps), role=c.role, user_id=c.user_id, actor=where.user_id
    )
    return None


async def _note(c: cmd.AddNote, where: Invocation, deps: Deps) -> Reply:
    await deps.service.add_note(
        incident_id=await _incident_id(c, where, deps), text=c.text, actor=where.user_id, at=c.at
    )
    return None


async def _impact(c: cmd.SetImpact, where: Invocation, deps: Deps) -> Reply:
    milestone = Milestone.IMPACT_STARTED if c.edge == "start" else Milestone.IMPACT_ENDED
    await deps.service.set_milestone(
        incident_id=await _incident_id(c, where, deps), milestone=milestone, actor=where.user_id, at=c.at
    )
    return None


async def _detected(c: cmd.SetDetected, where: Invocation, deps: Deps) -> Reply:
    await deps.service.set_milestone(
        incident_id=await _incident_id(c, where, deps),
        milestone=Milestone.DETECTED,
        actor=where.user_id,
        at=c.at,
    )
    return None


async def _resolve(c: cmd.Resolve, where: Invocation, deps: Deps) -> Reply:
    incident_id = await _incident_id(c, where, deps)
    try:
        await deps.service.resolve(incident_id=incident_id, actor=where.user_id, at=c.at, summary=c.summary)
    except RequiredItemsOpen as exc:
        return blocks.gate_blocks(incident_id=incident_id, items=exc.items, summary=c.summary, at=c.at)
    return None


async def _reopen(c: cmd.Reopen, where: Invocation, deps: Deps) -> Reply:
    await deps.service.reopen(incident_id=await _incident_id(c, where, deps), actor=where.user_id)
    return None


async def _close(c: cmd.Close, where: Invocation, deps: Deps) -> Reply:
    await deps.service.close(incident_id=await _incident_id(c, where, deps), actor=where.user_id)
    return None


async def _checklist(c: cmd.ShowChecklist, where: Invocation, deps: Deps) -> Reply:
    return await show_checklist(deps, incident_id=await _incident_id(c, where, deps), user_id=where.user_id)


async def _playbook(c: cmd.StartPlaybook, where: Invocation, deps: Deps) -> Reply:
    started = await deps.service.start_playbook(
        incident_id=await _incident_id(c, where, deps), name=c.name, actor=where.user_id
    )
    return f"Started playbook *{blocks.user_text(started)}*."


async def _followup(c: cmd.AddFollowup, where: Invocation, deps: Deps) -> Reply:
    await deps.service.add_followup(
        incident_id=await _incident_id(c, where, deps), text=c.text, actor=where.user_id, owner=c.owner
    )
    return None


async def _postmortem(c: cmd.Postmortem, where: Invocation, deps: Deps) -> Reply:
    return await export_postmortem(
        deps, incident_id=await _incident_id(c, where, deps), user_id=where.user_id
    )


async def _retry(c: cmd.RetrySetup, where: Invocation, deps: Deps) -> Reply:
    setup = await deps.service.ensure_room(incident_id=await _incident_id(c, where, deps))
    return declared_reply(setup.incident, setup.missing, verb="Set up")


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
    cmd.Resolve: _resolve,
    cmd.Reopen: _reopen,
    cmd.Close: _close,
    cmd.ShowChecklist: _checklist,
    cmd.StartPlaybook: _playbook,
    cmd.AddFollowup: _followup,
    cmd.Postmortem: _postmortem,
    cmd.RetrySetup: _retry,
}


async def reply(respond: AsyncRespond, message: Reply) -> None:
    """Sends an ephemeral reply (text or blocks) to the user who typed the command."""
    if message is None:
        return
    if isinstance(message, str):
        await respond(text=message, blocks=blocks.message_blocks(message), response_type="ephemeral")
    else:
        await respond(text="Hashi", blocks=message, response_type="ephemeral")


def register(app: AsyncApp, deps: Deps) -> None:
    """Adds the `/incident` listener."""

    @app.command("/incident")
    async def incident_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user_id, text, now = command["user_id"], command.get("text", ""), SystemClock().now()
        # Most commands carry no time, so the user's zone (a users.info call) is looked up only when one does,
        # or when the command failed (a time may be why), or for the declare modal's "detected at".
        tz = UTC_ZONE
        parsed = parse_command(text, severities=deps.severities, roles=deps.roles, now=now, tz=tz)
        if isinstance(parsed, ParseError | cmd.OpenDeclareModal) or _carries_time(parsed):
            tz = await deps.user_zone(user_id)
            parsed = parse_command(text, severities=deps.severities, roles=deps.roles, now=now, tz=tz)
        where = Invocation(
            user_id=user_id,
            channel_id=command.get("channel_id", ""),
            trigger_id=command.get("trigger_id", ""),
            tz=tz,
        )
        if isinstance(parsed, ParseError):
            usage = blocks.user_text(parsed.usage)
            await reply(respond, f":warning: {blocks.user_text(parsed.message)}\nUsage: `{usage}`")
            return
        if where.trigger_id and not await deps.service.claim_delivery(
            delivery_id=f"command:{where.trigger_id}", kind="command"
        ):
            return  # a retried delivery of a command that already ran
        try:
            await reply(respond, await HANDLERS[type(parsed)](parsed, where, deps))
        except IncidentError as exc:
            await reply(respond, f":warning: {blocks.user_text(exc.message)}")
        except ChatError as exc:
            await reply(
                respond, f":warning: Slack refused a step ({exc.step}: {blocks.user_text(exc.reason)})."
            )
