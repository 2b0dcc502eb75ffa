"""The Web API's auth, apps and users methods."""

from __future__ import annotations

from standin.calls import Args, Failure
from standin.shapes import Shapes
from standin.state import (
    JSON,
)
from standin.workspace import PERMALINK_HOST


class UsersMethods(Shapes):
    """The auth, apps, users methods."""

    def _auth_test(self, _args: Args) -> JSON:
        return {
            "ok": True,
            "url": f"{PERMALINK_HOST}/",
            "team": self.team_name,
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, _args: Args) -> JSON:
        ticket = self._new_id("", 16).lower()
        self._tickets.add(ticket)
        return {"ok": True, "url": f"ws://{self._host}:{self._port}/socket/{ticket}"}

    def _users_info(self, args: Args) -> JSON:
        user = self._user(args.text("user"))
        return {"ok": True, "user": self._user_object(user, include_locale=args.flag("include_locale"))}

    def _users_lookup_by_email(self, args: Args) -> JSON:
        email = args.text("email").lower()
        for user in self.users.values():
            if user.email is not None and user.email.lower() == email:
                return {"ok": True, "user": self._user_object(user, include_locale=False)}
        raise Failure("users_not_found")

    def _usergroups_users_list(self, args: Args) -> JSON:
        group = self.usergroups.get(args.text("usergroup"))
        if group is None:
            raise Failure("no_such_subteam")
        return {"ok": True, "users": list(group.users)}
