"""`/incident declare … type:<name>`, `type`, `set` and `services`: the forms, and the refusals with their
usage."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.incidents.commands import Command, Declare, SetField, SetServices, SetType
from bot.incidents.model import DEFAULT_SEVERITIES
from bot.slack.bodies import state_value
from bot.slack.parse import parse_command
from bot.slack.words import ParseError

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ROLES = ("lead", "comms")


def parse(text: str) -> Command | ParseError:
    return parse_command(text, severities=DEFAULT_SEVERITIES, roles=ROLES, now=NOW, tz=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("declare SEV1 type:ja 決済エラー", Declare(severity="SEV1", title="決済エラー", incident_type="ja")),
        ("declare type:security sev2 Key leaked", Declare("SEV2", "Key leaked", "security")),
        ("declare TYPE=security Key leaked", Declare(None, "Key leaked", "security")),
        ("declare ｔｙｐｅ：ja 全角", Declare(None, "全角", "ja")),
        ("declare Checkout type:ja errors", Declare(None, "Checkout type:ja errors", None)),
        ("type security", SetType(incident_id=None, incident_type="security")),
        ("INC-4 type ja", SetType(incident_id=4, incident_type="ja")),
        ("set region eu", SetField(incident_id=None, name="region", value="eu")),
        ("set cause a bad &amp; old deploy", SetField(None, "cause", "a bad & old deploy")),
        ("set owner <@U0BOB|bob>", SetField(None, "owner", "<@U0BOB|bob>")),
        ("services checkout, search api", SetServices(None, ("checkout", "search api"), (), ())),
        ("service +payments -search", SetServices(None, None, ("payments",), ("search",))),
        ("#7 services +a, -b", SetServices(7, None, ("a",), ("b",))),
        ("services checkout, +search", SetServices(None, ("checkout",), ("search",), ())),
    ],
)
def test_forms(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "usage"),
    [
        (
            "declare type: Broken",
            "Which type?",
            "/incident declare [SEV1|SEV2|SEV3|SEV4] [type:<name>] <title>",
        ),
        ("type", "Which type?", "/incident type <name>"),
        ("type ja extra", "takes nothing more", "/incident type <name>"),
        ("set region", "Name the field and its value", "/incident set <field> <value>"),
        ("set", "Name the field and its value", "/incident set <field> <value>"),
        ("services", "Which services?", "/incident services <a>, <b> | +<c> | -<d>"),
        ("services + , -", "Which services?", "/incident services <a>, <b> | +<c> | -<d>"),
        ("list type:ja", "takes nothing more", "/incident list"),
    ],
)
def test_refusals_give_the_right_form(text: str, message: str, usage: str) -> None:
    refused = parse(text)
    assert isinstance(refused, ParseError), refused
    assert message in refused.message and refused.usage == usage


def test_a_chosen_user_is_read_from_a_submitted_view() -> None:
    view = {"state": {"values": {"b": {"a": {"type": "users_select", "selected_user": "U0CAROL"}}}}}
    assert state_value(view, "b", "a") == "U0CAROL"
    empty = {"state": {"values": {"b": {"a": {"type": "users_select", "selected_user": None}}}}}
    assert state_value(empty, "b", "a") is None
