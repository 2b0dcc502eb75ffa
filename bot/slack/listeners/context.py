"""What every listener shares: the service, the gateway, the team's configuration, the clock; and how a
module-level listener is handed them."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import DEFAULT_LANG, Lang, Msg, language_of
from bot.incidents.errors import IncidentError
from bot.incidents.fields import RecordShape
from bot.incidents.ports import Clock
from bot.incidents.service import IncidentService
from bot.incidents.times import zone
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.slack.inbox import Listener, SlackInbox
from bot.slack.turns import AckFirst


@dataclass(frozen=True)
class Deps:
    """The collaborators listeners call (built once in the composition root)."""

    service: IncidentService
    gateway: SlackGateway
    settings: Settings
    turns: AckFirst
    inbox: SlackInbox
    clock: Clock

    @property
    def severities(self) -> tuple[str, ...]:
        """The configured severity codes."""
        return self.settings.team.severities

    @property
    def shape(self) -> RecordShape:
        """The team's incident types and custom fields."""
        return self.service.config.shape

    @property
    def roles(self) -> tuple[str, ...]:
        """The configured roles."""
        return self.settings.team.roles

    async def user_language(self, user_id: str, *, within: float | None = None) -> Lang:
        """The language to answer a user in: the workspace's when hashi.toml sets one, else their Slack
        locale's (users.info, cached), else English."""
        if self.settings.team.language is not None:
            return self.settings.team.language
        return (await self.user_prefs(user_id, within=within))[1]

    async def user_prefs(self, user_id: str, *, within: float | None = None) -> tuple[ZoneInfo, Lang]:
        """The user's time zone (else the configured one) and language from one (cached) users.info; `within`
        bounds the wait (before an ack, which Slack wants within 3 seconds, a slow users.info must not hold it
        up)."""
        fixed = self.settings.team.language
        try:
            profile = await asyncio.wait_for(self.gateway.user_profile(user_id), timeout=within)
        except TimeoutError:
            return zone(None, default=self.settings.env.timezone), fixed or DEFAULT_LANG
        lang = fixed or language_of(profile.locale) or DEFAULT_LANG
        return zone(profile.tz, default=self.settings.env.timezone), lang

    @property
    def channel_language(self) -> Lang:
        """The language of messages everyone in a channel reads."""
        return self.settings.team.workspace_language


def with_deps(listener: Listener, deps: Deps) -> Listener:
    """A listener as written, `async def ack_clicked(deps, ack, body, respond)`, with its Deps given: what
    Bolt (and the inbox) call by the names of its other arguments, which the partial keeps; its name and
    docstring too (Bolt's logs and the inbox's errors name it)."""
    bound: Any = functools.partial(listener, deps)
    return functools.update_wrapper(bound, listener)


async def incident_named_or_here(deps: Deps, *, named: int | None, channel_id: str, elsewhere: Msg) -> int:
    """The incident a request names (a button's value, `INC-12` in a command), else the one whose room the
    channel is; raises `elsewhere` when it names none and the channel is no incident's room. Whether the user
    may see it is the caller's (or the service's) to check."""
    if named is not None:
        return named
    found = await deps.service.incident_for_channel(channel_id=channel_id)
    if found is None:
        raise IncidentError(elsewhere)
    return found
