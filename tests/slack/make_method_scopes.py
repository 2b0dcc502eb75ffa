"""Writes tests/slack/method_scopes.json: the scopes a bot token needs for each Web API method Hashi calls.

Source: Slack's published Web API spec, slackapi/slack-api-specs `web-api/slack_web_openapi_v2.json` (a copy
in ../shared/slack/specs, see SOURCE.md there): each method's `security[].slackAuth` lists the scopes any
one of which lets a token call it. That spec predates granular bot scopes, so two of its names are mapped
to the bot scopes that replaced them (api.slack.com/scopes: `chat:write:bot` → `chat:write`,
`channels:write` → `channels:manage`), and `none` means no scope. Methods newer than the spec are
added by hand from their documentation pages (NEWER below). Run it again when the gateway calls a new method:

    .venv/bin/python tests/slack/make_method_scopes.py
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT.parent / "shared" / "slack" / "specs" / "slack_web_openapi_v2.json"
TABLE = Path(__file__).with_name("method_scopes.json")
GATEWAY = ROOT / "bot" / "slack" / "gateway.py"

# Granular bot scopes that replaced the spec's classic names (https://api.slack.com/scopes).
RENAMED = {"chat:write:bot": "chat:write", "channels:write": "channels:manage"}
# Classic user-token scopes no bot token can hold.
USER_ONLY = {"chat:write:user"}
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


def scopes_from_spec(spec: dict[str, object], methods: list[str]) -> dict[str, list[str]]:
    """method → the bot scopes any one of which allows it ([] for none)."""
    paths = spec["paths"]
    assert isinstance(paths, dict)
    table: dict[str, list[str]] = {}
    for method in methods:
        if method in NEWER:
            table[method] = NEWER[method]
            continue
        operations = paths["/" + method]
        names = {
            s
            for op in operations.values()
            for sec in op.get("security", [])
            for s in sec.get("slackAuth", [])
        }
        table[method] = sorted(RENAMED.get(s, s) for s in names - USER_ONLY - {"none"})
    return table


def build() -> dict[str, list[str]]:
    """The table, from the spec and the gateway as they are."""
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    return scopes_from_spec(spec, called_methods(GATEWAY.read_text(encoding="utf-8")))


if __name__ == "__main__":
    if not SPEC.is_file():
        sys.exit(f"no spec at {SPEC}")
    TABLE.write_text(json.dumps(build(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {TABLE}\n")
