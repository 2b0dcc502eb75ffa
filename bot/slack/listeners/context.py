"""What every listener shares: the service, the gateway, the team's configuration."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.incidents.service import IncidentService
from bot.incidents.times import zone
from bot.settings import Settings
from bot.slack.gateway import SlackGateway


@dataclass(frozen=True)
class Deps:
    """The collaborators listeners call (built once in the composition root)."""

    service: IncidentService
    gateway: SlackGateway
    settings: Settings

    @property
    def severities(self) -> tuple[str, ...]:
        """The configured severity codes."""
        return self.settings.team.severities

    @property
    def roles(self) -> tuple[str, ...]:
        """The configured roles."""
        return self.settings.team.roles

    async def user_zone(self, user_id: str, *, within: float | None = None) -> ZoneInfo:
        """The user's Slack time zone, else the configured one; `within` bounds the wait (before an ack,
        which Slack wants within 3 seconds, a slow users.info must not hold it up)."""
        try:
            profile = await asyncio.wait_for(self.gateway.user_profile(user_id), timeout=within)
        except TimeoutError:
            return zone(None, default=self.settings.env.timezone)
        return zone(profile.tz, default=self.settings.env.timezone)
