"""The manifest asks for exactly the scopes Hashi uses: those the Web API methods it calls need (from Slack's
spec, via method_scopes.json), those its events need, and `commands`; none more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.slack.manifest import BOT_EVENTS, BOT_SCOPES
from tests.slack.make_method_scopes import GATEWAY, SPEC, TABLE, build, called_methods

# The scope each subscribed event needs, from its page at https://api.slack.com/events/<name> (Slack's events
# spec in ../shared names no scopes).
EVENT_SCOPES = {
    "app_home_opened": set(),
    "member_joined_channel": {"channels:read", "groups:read"},
    "member_left_channel": {"channels:read", "groups:read"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "pin_added": {"pins:read"},
    "pin_removed": {"pins:read"},
    "reaction_added": {"reactions:read"},
    "reaction_removed": {"reactions:read"},
}
# Scopes no method or event asks for by name: the slash command, and chat:write.public, which lets
# chat.postMessage post in a public channel the bot was not invited to (the announce channel).
OTHER_SCOPES = {"commands", "chat:write.public"}
# Hashi's rooms are public and private channels, never direct or group messages (a message to a person goes to
# their user id with chat:write): a conversations.* method's im:/mpim: scopes are not its.
NOT_HASHIS = ("im:", "mpim:")


def _table() -> dict[str, list[str]]:
    return dict(json.loads(TABLE.read_text(encoding="utf-8")))


def test_every_called_method_is_in_the_table() -> None:
    missing = set(called_methods(GATEWAY.read_text(encoding="utf-8"))) - set(_table())
    assert not missing, f"run tests/slack/make_method_scopes.py: no scopes known for {sorted(missing)}"


@pytest.mark.skipif(not SPEC.is_file(), reason="Slack's spec is not in ../shared")
def test_the_table_matches_slacks_spec() -> None:
    assert build() == _table()


def test_the_manifest_asks_for_exactly_the_scopes_hashi_uses() -> None:
    granted = set(BOT_SCOPES)
    table = _table()
    needed = set(OTHER_SCOPES)
    for method in called_methods(GATEWAY.read_text(encoding="utf-8")):
        allowed = {scope for scope in table[method] if not scope.startswith(NOT_HASHIS)}
        if allowed:
            assert granted & allowed, f"{method} needs one of {sorted(allowed)}"
            needed |= granted & allowed
    for event in BOT_EVENTS:
        assert EVENT_SCOPES[event] <= granted, f"{event} needs {sorted(EVENT_SCOPES[event])}"
        needed |= EVENT_SCOPES[event]
    assert granted - needed == set(), "the manifest asks for scopes Hashi never uses"
    assert len(BOT_SCOPES) == len(granted)


def test_the_gateway_is_read_whole() -> None:
    methods = called_methods(GATEWAY.read_text(encoding="utf-8"))
    assert {"chat.postMessage", "conversations.create", "files.completeUploadExternal", "auth.test"} <= set(
        methods
    )
    assert Path(TABLE).is_file()
