"""The permission policy as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.incidents.model import IncidentSnapshot, Milestones, Status
from bot.incidents.permissions import Act, Policy, principal_problem
from bot.settings import TeamConfig

INCIDENT = IncidentSnapshot(
    id=3,
    title="t",
    severity="SEV2",
    status=Status.INVESTIGATING,
    private=False,
    services=(),
    summary="",
    lead="ULEAD",
    declared_by="UDECL",
    channel_id="C1",
    milestones=Milestones(declared_at=datetime(2026, 11, 24, tzinfo=UTC)),
    roles=(("lead", "ULEAD"), ("comms", "UCOMMS")),
    participants=("UJOINED",),
)


@pytest.mark.parametrize(
    ("rule", "user", "groups", "allowed"),
    [
        (["anyone"], "USTRANGER", (), True),
        (["lead"], "ULEAD", (), True),
        (["lead"], "UCOMMS", (), False),
        (["roles"], "UCOMMS", (), True),
        (["role:comms"], "UCOMMS", (), True),
        (["role:comms"], "ULEAD", (), False),
        (["declarer"], "UDECL", (), True),
        (["participants"], "UJOINED", (), True),
        (["participants"], "USTRANGER", (), False),
        (["user:UBOSS"], "UBOSS", (), True),
        (["usergroup:S1"], "USRE", ("S1",), True),
        (["usergroup:S1"], "USRE", ("S2",), False),
        (["lead", "usergroup:S1"], "USRE", ("S1",), True),
    ],
)
def test_rules(rule: list[str], user: str, groups: tuple[str, ...], allowed: bool) -> None:
    policy = Policy(rules={Act.CLOSE: tuple(rule)})
    assert policy.allows(Act.CLOSE, user_id=user, incident=INCIDENT, groups=groups) is allowed
    assert policy.allows(Act.SEVERITY, user_id=user, incident=INCIDENT) is True  # unlisted acts stay open


def test_description_names_who_may_without_pinging() -> None:
    policy = Policy(rules={Act.CLOSE: ("lead", "role:comms", "usergroup:S0SRE")})
    said = policy.describe(Act.CLOSE).render("en")
    assert said == "the incident lead, the comms role or members of user group S0SRE"
    assert "<!subteam" not in said
    in_japanese = policy.describe(Act.CLOSE).render("ja")
    assert in_japanese == "インシデントのリード、comms ロールの人、またはユーザーグループ S0SRE のメンバー"
    assert policy.groups() == frozenset({"S0SRE"})


def test_declare_rules_need_no_incident() -> None:
    policy = Policy(rules={Act.DECLARE: ("usergroup:S0ONCALL",)})
    assert policy.allows(Act.DECLARE, user_id="U1", incident=None, groups={"S0ONCALL"})
    assert not policy.allows(Act.DECLARE, user_id="U1", incident=None, groups=())


def test_config_rejects_unknown_principals_and_acts() -> None:
    assert principal_problem("boss") is not None and principal_problem("role:") is not None
    TeamConfig.model_validate({"permissions": {"close": ["lead", "usergroup:S1"]}})
    with pytest.raises(ValueError, match="unknown principal"):
        TeamConfig.model_validate({"permissions": {"close": ["boss"]}})
    with pytest.raises(ValueError):
        TeamConfig.model_validate({"permissions": {"fly": ["anyone"]}})
    with pytest.raises(ValueError, match="lists nobody"):
        TeamConfig.model_validate({"permissions": {"close": []}})
