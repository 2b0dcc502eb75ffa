"""What the web dashboard asks of Slack (the SlackGateway provides it; the web imports nothing of Slack)."""

from __future__ import annotations

from typing import Any, Protocol


class Identity(Protocol):
    """Sign in with Slack, the workspace the bot is in, and a person's time zone."""

    async def team_id(self) -> str:
        """The workspace the bot token belongs to."""
        ...

    async def openid_token(
        self, *, code: str, redirect_uri: str, client_id: str, client_secret: str
    ) -> dict[str, Any]:
        """Exchanges a sign-in's code for the person's token and id_token."""
        ...

    async def openid_user_info(self, *, access_token: str) -> dict[str, Any]:
        """Who signed in: the claims of openid.connect.userInfo."""
        ...

    async def user_zone(self, user_id: str) -> str | None:
        """A person's Slack time zone, or None when Slack does not say."""
        ...
