"""Who may do what: the team's permission rules (hashi.toml [permissions]), checked as a pure function."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.i18n import Msg
from bot.incidents.model import IncidentSnapshot


class Act(StrEnum):
    """Things a rule can govern."""

    DECLARE = "declare"
    SEVERITY = "severity"
    STATUS = "status"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    EXPORT = "export"
    ROLES = "roles"


ANYONE = "anyone"
# Principals a rule may list. `role:<name>`, `user:<U…>` and `usergroup:<S…>` take a value.
SIMPLE_PRINCIPALS = frozenset({ANYONE, "lead", "declarer", "roles", "participants"})
VALUE_PRINCIPALS = ("role:", "user:", "usergroup:")


def principal_problem(principal: str) -> str | None:
    """Why a principal is not one Hashi understands (None when it is fine)."""
    if principal in SIMPLE_PRINCIPALS:
        return None
    for prefix in VALUE_PRINCIPALS:
        if principal.startswith(prefix) and len(principal) > len(prefix):
            return None
    known = ", ".join(sorted(SIMPLE_PRINCIPALS) + [f"{p}<id or name>" for p in VALUE_PRINCIPALS])
    return f"unknown principal {principal!r}; use one of {known}"


@dataclass(frozen=True)
class Policy:
    """For each act, who may do it; an act not listed is open to anyone who can see the incident."""

    rules: Mapping[Act, tuple[str, ...]] = field(default_factory=dict)

    def who(self, act: Act) -> tuple[str, ...]:
        """The principals allowed to do `act`."""
        return self.rules.get(act, (ANYONE,))

    def groups(self) -> frozenset[str]:
        """Every Slack user group any rule names."""
        return frozenset(
            p.split(":", 1)[1] for ps in self.rules.values() for p in ps if p.startswith("usergroup:")
        )

    def allows(
        self, act: Act, *, user_id: str, incident: IncidentSnapshot | None, groups: Iterable[str] = ()
    ) -> bool:
        """Whether the user may do `act` (on that incident); `groups` are the user groups the user is in."""
        member_of = set(groups)
        roles = dict(incident.roles) if incident else {}
        for principal in self.who(act):
            if principal == ANYONE:
                return True
            kind, _, value = principal.partition(":")
            if kind == "user" and value == user_id:
                return True
            if kind == "usergroup" and value in member_of:
                return True
            if incident is None:
                continue
            if principal == "lead" and incident.lead == user_id:
                return True
            if principal == "declarer" and incident.declared_by == user_id:
                return True
            if principal == "roles" and user_id in roles.values():
                return True
            if kind == "role" and roles.get(value) == user_id:
                return True
            if principal == "participants" and user_id in incident.people:
                return True
        return False

    def describe(self, act: Act) -> Msg:
        """Who may do `act`, in words (user groups by id: never a ping)."""
        parts: list[Msg | str] = []
        for principal in self.who(act):
            kind, _, value = principal.partition(":")
            if principal in SIMPLE_PRINCIPALS:
                parts.append(Msg(f"who.{principal}"))
            elif kind == "role":
                parts.append(Msg("who.role", role=value))
            elif kind == "user":
                parts.append(f"<@{value}>")
            elif kind == "usergroup":
                parts.append(Msg("who.usergroup", group=value))
        return Msg("who.any_of", people=tuple(parts))
