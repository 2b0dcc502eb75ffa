"""Who is who in Slack: the bot and its workspace, people's profiles, user groups, Sign in with Slack."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError

from bot.incidents.errors import ChatError
from bot.slack.webapi import UserProfile, WebApi, slack_error

USER_CACHE_SECONDS = 600


class People(WebApi):
    """The identity calls: auth.test, users.info, usergroups.users.list, openid.connect.*."""

    async def token_check(self) -> tuple[dict[str, Any], frozenset[str] | None]:
        """auth.test's answer and the scopes the token was granted (None when Slack does not say)."""
        try:
            response = await self.client.api_call("auth.test")
        except SlackApiError as exc:
            raise ChatError("auth", slack_error(exc)) from exc
        except (ClientError, TimeoutError) as exc:  # no answer: the network, not the token
            raise ChatError("auth", f"{type(exc).__name__}: {exc}", unknown=True) from exc
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        raw = headers.get("x-oauth-scopes")
        text = raw[0] if isinstance(raw, list) else raw
        scopes = frozenset(s.strip() for s in text.split(",") if s.strip()) if text is not None else None
        return dict(response.data) if isinstance(response.data, dict) else {}, scopes

    async def bot_user_id(self) -> str:
        """The bot's own user id (auth.test, once)."""
        if self._bot_user_id is None:
            data = await self._call("auth", "auth.test")
            self._bot_user_id = str(data.get("user_id", ""))
        return self._bot_user_id

    async def team_id(self) -> str:
        """The workspace the bot token belongs to (auth.test, once)."""
        if self._team_id is None:
            data = await self._call("auth", "auth.test")
            self._team_id = str(data.get("team_id", ""))
        return self._team_id

    async def openid_token(
        self, *, code: str, redirect_uri: str, client_id: str, client_secret: str
    ) -> dict[str, Any]:
        """Exchanges a sign-in's code for the person's token and id_token (openid.connect.token)."""
        return await self._call(
            "sign-in",
            "openid.connect.token",
            app_credentials=(client_id, client_secret),
            code=code,
            redirect_uri=redirect_uri,
            grant_type="authorization_code",
        )

    async def openid_user_info(self, *, access_token: str) -> dict[str, Any]:
        """Who signed in: the claims of openid.connect.userInfo for their token."""
        return await self._call("sign-in", "openid.connect.userInfo", user_token=access_token)

    async def user_zone(self, user_id: str) -> str | None:
        """A person's Slack time zone (users.info, cached), or None when Slack does not say."""
        return (await self.user_profile(user_id)).tz

    async def user_profile(self, user_id: str) -> UserProfile:
        """A user's name, time zone and locale (users.info, cached for a few minutes)."""
        cached = self._users.get(user_id)
        if cached and time.monotonic() - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        try:
            data = await self._call("user", "users.info", user=user_id, include_locale=True)
        except ChatError:
            return UserProfile(user_id=user_id, name=user_id, tz=None, locale=None)
        user = data.get("user", {})
        profile = UserProfile(
            user_id=user_id,
            name=str(user.get("real_name") or user.get("name") or user_id),
            tz=user.get("tz"),
            locale=user.get("locale"),
        )
        self._users[user_id] = (time.monotonic(), profile)
        return profile

    async def groups_of(self, *, user_id: str, among: frozenset[str]) -> frozenset[str]:
        """The user groups, of those asked about, the user is in (usergroups.users.list, cached)."""
        found = set()
        for group in sorted(among):
            try:
                members = await self.members_of(group_id=group)
            except ChatError:
                continue  # an unknown group grants nothing
            if user_id in members:
                found.add(group)
        return frozenset(found)

    async def members_of(self, *, group_id: str) -> frozenset[str]:
        """The users in a user group (usergroups.users.list, cached for a few minutes)."""
        cached = self._groups.get(group_id)
        if cached is None or time.monotonic() - cached[0] > USER_CACHE_SECONDS:
            data = await self._call("usergroup", "usergroups.users.list", usergroup=group_id)
            cached = (time.monotonic(), frozenset(str(u) for u in data.get("users") or ()))
            self._groups[group_id] = cached
        return cached[1]
