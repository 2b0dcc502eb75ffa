"""The Block Kit checker the end-to-end tests use rejects each payload Slack would refuse."""

from __future__ import annotations

from typing import Any

import pytest

from tests.slack.blockkit import (
    call_problems,
    message_problems,
    unsafe_markup,
    view_problems,
)


def _section(text: str = "hi") -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _option(text: str = "one", value: str = "1") -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def _actions(element: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": [element]}


def _button(text: str = "Go", value: str = "1") -> dict[str, Any]:
    return {"type": "button", "action_id": "a", "text": _plain(text), "value": value}


def _checkboxes(count: int, text: str = "one") -> dict[str, Any]:
    return {"type": "checkboxes", "action_id": "c", "options": [_option(text, str(n)) for n in range(count)]}


def _select(count: int) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": "s",
        "placeholder": _plain("Pick"),
        "options": [_option(f"o{n}", str(n)) for n in range(count)],
    }


def _modal(blocks: list[dict[str, Any]], title: str = "Declare", metadata: str = "") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "hashi_declare",
        "title": _plain(title),
        "submit": _plain("Declare"),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def test_payloads_within_every_limit_pass() -> None:
    blocks = [
        {"type": "header", "text": _plain("h" * 150)},
        _section("s" * 3000),
        _actions(_button("b" * 75, "v" * 2000)),
        _actions(_checkboxes(10, "o" * 75)),
        _actions(_select(100)),
        *[_section() for _ in range(45)],
    ]
    assert message_problems({"text": "t" * 40_000, "blocks": blocks}) == []
    assert view_problems(_modal([_section()] * 100, title="t" * 24, metadata="m" * 3000)) == []
    assert view_problems({"type": "home", "blocks": [_section()] * 100}) == []


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"text": "x", "blocks": [_section()] * 51}, "51 blocks (at most 50)"),
        ({"text": "t" * 40_001}, "text is 40001 characters"),
        ({"text": "x", "blocks": [_section("s" * 3001)]}, "3001"),
        ({"text": "x", "blocks": [{"type": "header", "text": _plain("h" * 151)}]}, "150"),
        ({"text": "x", "blocks": [_actions(_button("b" * 76))]}, "75"),
        ({"text": "x", "blocks": [_actions(_button(value="v" * 2001))]}, "2000"),
        ({"text": "x", "blocks": [_actions(_checkboxes(1, "o" * 76))]}, "75"),
        ({"text": "x", "blocks": [_actions(_checkboxes(11))]}, "11 options (at most 10)"),
        ({"text": "x", "blocks": [_actions(_select(101))]}, "101 options (at most 100)"),
        ({"text": "x", "blocks": [{"type": "no_such_block"}]}, "does not know"),
    ],
    ids=[
        "51-blocks",
        "message-text",
        "section-text",
        "header-text",
        "button-text",
        "button-value",
        "option-text",
        "11-checkboxes",
        "101-select-options",
        "unknown-block",
    ],
)
def test_each_message_over_a_limit_is_rejected(message: dict[str, Any], problem: str) -> None:
    found = message_problems(message)
    assert found and any(problem in p for p in found), found


@pytest.mark.parametrize(
    ("view", "problem"),
    [
        (_modal([_section()] * 101), "101 blocks (at most 100)"),
        ({"type": "home", "blocks": [_section()] * 101}, "101 blocks (at most 100)"),
        (_modal([_section()], title="t" * 25), "24"),
        (_modal([_section()], metadata="m" * 3001), "3001"),
        (_modal([_section("s" * 3001)]), "3001"),
    ],
    ids=["modal-101-blocks", "home-101-blocks", "modal-title", "private-metadata", "section-in-modal"],
)
def test_each_view_over_a_limit_is_rejected(view: dict[str, Any], problem: str) -> None:
    found = view_problems(view)
    assert found and any(problem in p for p in found), found


def test_calls_are_checked_by_what_they_carry() -> None:
    assert call_problems("chat.postMessage", {"channel": "C1", "blocks": [_section()] * 51})
    assert call_problems("chat.postEphemeral", {"channel": "C1", "user": "U1", "text": "t" * 40_001})
    assert (
        call_problems("views.publish", {"user_id": "U1", "view": {"type": "home", "blocks": [_section()]}})
        == []
    )
    assert call_problems("views.open", {"trigger_id": "1", "view": _modal([_section()] * 101)})
    assert call_problems("conversations.setTopic", {"topic": "t" * 40_001}) == []


def test_unsafe_markup_finds_pings_and_reordering() -> None:
    payload = {"blocks": [_section("<!channel> <!here|here> <!subteam^S1> <@U0EVIL> \u202eevil\u2069")]}
    assert unsafe_markup(payload, people={"U0BOB"}) == [
        "special mention '<!channel>'",
        "special mention '<!here|here>'",
        "special mention '<!subteam^S1>'",
        "mention '<@U0EVIL>'",
        "bidi control U+202E",
        "bidi control U+2069",
    ]
    unshown = {"type": "button", "text": _plain("<!here> \u2067"), "value": "<!channel> <@U0EVIL> \u202e"}
    assert unsafe_markup([unshown], people=()) == ["bidi control U+2067"]  # plain text pings no one
    safe = "&lt;!channel&gt; <@U0BOB> <@U0BOB|bob> <!date^1700000000^{date}|Nov 14> <#C1>"
    assert unsafe_markup({"text": safe}, people={"U0BOB"}) == []
