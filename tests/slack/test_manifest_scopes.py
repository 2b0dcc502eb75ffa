"""The manifest asks for exactly the scopes Hashi uses: those the Web API methods it calls need (from Slack's
spec, via the facts table standin/slack_facts.json), those its events need, and `commands`; none more."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.slack.manifest import BOT_EVENTS, BOT_SCOPES
from standin.facts import read

# The gateway's modules: SlackGateway and the parts it is made of.
GATEWAY = [
    Path(__file__).resolve().parents[2] / "bot" / "slack" / name
    for name in ("gateway.py", "webapi.py", "people.py", "scheduler.py")
]
# The spec predates granular bot scopes: two of its names are the bot scopes that replaced them
# (api.slack.com/scopes), one is for user tokens only, and `none` means no scope.
RENAMED = {"chat:write:bot": "chat:write", "channels:write": "channels:manage"}
USER_ONLY = {"chat:write:user", "none"}
# Methods newer than the spec (2020-10), with the scope their documentation page names.
NEWER = {
    # https://api.slack.com/methods/files.getUploadURLExternal and …/files.completeUploadExternal
    "files.getUploadURLExternal": ["files:write"],
    "files.completeUploadExternal": ["files:write"],
    # Sign in with Slack (…/openid.connect.token, …/openid.connect.userInfo): no bot token goes with them
    # (the app's client id and secret; the person's own token, granted `openid`), so no bot scope.
    "openid.connect.token": [],
    "openid.connect.userInfo": [],
}
# Methods slack_sdk's helpers call for Hashi (files_upload_v2), and Bolt's own call (auth.test when the app
# authorizes its single workspace's token).
INDIRECT = {"files_upload_v2": ["files.getUploadURLExternal", "files.completeUploadExternal"]}
BOLT_CALLS = ["auth.test"]

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


def called_methods(source: str) -> list[str]:
    """Every Web API method the gateway names: `_call(step, "method", …)`, `client.api_call("method")` and
    the slack_sdk helpers it uses, plus Bolt's own calls."""
    found: set[str] = set(BOLT_CALLS)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in ("_call", "api_call"):
            found |= {
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str) and "." in a.value
            }
        found |= set(INDIRECT.get(node.func.attr, ()))
    return sorted(found)


def gateway_methods() -> list[str]:
    """called_methods of every module of the gateway."""
    return sorted({m for path in GATEWAY for m in called_methods(path.read_text(encoding="utf-8"))})


def _table() -> dict[str, list[str]]:
    """method → the bot scopes any one of which allows it ([] for none), for every method Slack's spec has
    and the newer ones above."""
    table = {
        method: sorted({RENAMED.get(s, s) for s in facts["scopes"]} - USER_ONLY)
        for method, facts in read()["methods"].items()
    }
    return table | NEWER


def test_every_called_method_is_in_the_table() -> None:
    missing = set(gateway_methods()) - set(_table())
    assert not missing, f"no scopes known for {sorted(missing)}: add them to NEWER with their docs page"


def test_the_manifest_asks_for_exactly_the_scopes_hashi_uses() -> None:
    granted = set(BOT_SCOPES)
    table = _table()
    needed = set(OTHER_SCOPES)
    for method in gateway_methods():
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
    methods = gateway_methods()
    assert {"chat.postMessage", "conversations.create", "files.completeUploadExternal", "auth.test"} <= set(
        methods
    )
    assert set(methods) <= set(_table())
