"""Slack's published Web API spec (OpenAPI 2.0, October 2020), from the facts table derived from it
(standin/facts.py, slack_facts.json), with what Slack's docs say that the spec does not."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from standin.facts import derive_from_file, read

SPEC_ENV = "HASHI_SLACK_SPEC"
SPEC_RELATIVE = Path("shared") / "slack" / "specs" / "slack_web_openapi_v2.json"

# Methods Slack added after the spec froze in 2020, with the arguments Slack's docs mark required.
ALLOWLISTED_METHODS: Mapping[str, frozenset[str]] = {
    "files.getUploadURLExternal": frozenset({"filename", "length"}),
    "files.completeUploadExternal": frozenset({"files"}),
    "bookmarks.add": frozenset({"channel_id", "title", "type"}),
    "apps.connections.open": frozenset(),
    # Sign in with Slack (docs.slack.dev/reference/methods/openid.connect.token and .userInfo): the token
    # exchange requires `code` (client_id and client_secret may come as HTTP Basic auth instead); userInfo
    # requires only the user's token.
    "openid.connect.token": frozenset({"code"}),
    "openid.connect.userInfo": frozenset(),
}

# Arguments Slack requires (its docs list them under "Required arguments") that the spec leaves unmarked.
# chat.postMessage channel, views.open trigger_id+view and pins.add channel are already marked there.
REQUIRED_SUPPLEMENT: Mapping[str, frozenset[str]] = {
    "conversations.create": frozenset({"name"}),
    "conversations.invite": frozenset({"channel", "users"}),
    "conversations.join": frozenset({"channel"}),
    "conversations.setTopic": frozenset({"channel", "topic"}),
    "conversations.setPurpose": frozenset({"channel", "purpose"}),
    "conversations.info": frozenset({"channel"}),
    "conversations.members": frozenset({"channel"}),
    "conversations.archive": frozenset({"channel"}),
    "conversations.history": frozenset({"channel"}),
    "conversations.replies": frozenset({"channel", "ts"}),
    "chat.delete": frozenset({"channel", "ts"}),
    "chat.scheduleMessage": frozenset({"channel", "post_at"}),
    "users.info": frozenset({"user"}),
    "views.update": frozenset({"view"}),
}

# Places where the spec's response schema is wrong about Slack: there `blocks` is an array, not an object.
RESPONSE_ERRATA: frozenset[tuple[str, str]] = frozenset({("chat.update", "$.message.blocks")})

# Either name satisfies the requirement: slack_sdk sends interactivity_pointer in place of trigger_id.
ARGUMENT_ALTERNATIVES: Mapping[tuple[str, str], str] = {
    ("views.open", "trigger_id"): "interactivity_pointer",
    ("views.push", "trigger_id"): "interactivity_pointer",
}


def find_spec_path() -> Path | None:
    """The spec file: $HASHI_SLACK_SPEC, else ../shared beside the checkout, else ../shared from here."""
    configured = os.environ.get(SPEC_ENV)
    if configured:
        path = Path(configured)
        return path if path.is_file() else None
    repo_root = Path(__file__).resolve().parents[2]
    for candidate in (repo_root.parent / SPEC_RELATIVE, Path.cwd().parent / SPEC_RELATIVE):
        if candidate.is_file():
            return candidate
    return None


class ApiSpec:
    """Which methods exist, which arguments they require, and what their success responses must hold."""

    def __init__(self, facts: Mapping[str, Any]) -> None:
        self._methods: Mapping[str, Mapping[str, Any]] = facts["methods"]
        self._definitions: Mapping[str, Any] = facts["definitions"]
        self.spec_methods: frozenset[str] = frozenset(self._methods)
        self.methods: frozenset[str] = self.spec_methods | frozenset(ALLOWLISTED_METHODS)

    @classmethod
    def load(cls, path: Path | None = None) -> ApiSpec:
        """From the committed facts table, or from the facts of the spec file at `path`."""
        return cls(derive_from_file(path) if path is not None else read())

    def knows(self, method: str) -> bool:
        """Whether Slack has this method (in the spec or allow-listed)."""
        return method in self.methods

    def required_args(self, method: str) -> frozenset[str]:
        """The arguments a call must carry (the token aside)."""
        required = set(ALLOWLISTED_METHODS.get(method, frozenset()))
        required |= REQUIRED_SUPPLEMENT.get(method, frozenset())
        required.update(self._methods.get(method, {}).get("required", ()))
        return frozenset(required)

    def accepts_json(self, method: str) -> bool:
        """Whether the method takes an application/json body (allow-listed methods are assumed to)."""
        facts = self._methods.get(method)
        if facts is None:
            return True
        return "application/json" in facts["consumes"]

    def success_schema(self, method: str) -> Mapping[str, Any] | None:
        """The schema of the method's HTTP 200 answer, or None for allow-listed methods."""
        facts = self._methods.get(method)
        if facts is None:
            return None
        schema: Mapping[str, Any] | None = facts["response"]
        return schema

    def response_problems(self, method: str, response: Mapping[str, Any]) -> list[str]:
        """Required keys (and basic JSON types) the success schema asks for that `response` lacks."""
        schema = self.success_schema(method)
        if schema is None:
            return []
        return [
            problem
            for problem in self._check(schema, response, "$")
            if (method, problem.split(":", 1)[0]) not in RESPONSE_ERRATA
        ]

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            schema = self._definitions[name]
        return schema

    def _check(self, schema: Mapping[str, Any], value: Any, where: str) -> list[str]:
        schema = self._resolve(schema)
        alternatives = schema.get("items")
        if isinstance(alternatives, list) and schema.get("type") != "array":
            # Slack's spec writes "one of these" as a list under `items`; the value must fit one of them.
            results = [self._check(alternative, value, where) for alternative in alternatives]
            if any(not problems for problems in results):
                return []
            return min(results, key=len)
        expected = schema.get("type")
        if expected is not None and not has_json_type(value, str(expected)):
            return [f"{where}: expected {expected}, got {type(value).__name__}"]
        problems: list[str] = []
        if isinstance(value, dict):
            problems += [
                f"{where}: missing {key!r}" for key in schema.get("required", []) if key not in value
            ]
            for key, subschema in schema.get("properties", {}).items():
                if key in value:
                    problems += self._check(subschema, value[key], f"{where}.{key}")
        elif isinstance(value, list) and isinstance(alternatives, dict):
            for index, item in enumerate(value):
                problems += self._check(alternatives, item, f"{where}[{index}]")
        return problems


def has_json_type(value: Any, expected: str) -> bool:
    """Whether `value` (decoded JSON) is of the JSON Schema type `expected` (unknown types: yes)."""
    match expected:
        case "object":
            return isinstance(value, dict)
        case "array":
            return isinstance(value, list)
        case "string":
            return isinstance(value, str)
        case "boolean":
            return isinstance(value, bool)
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "null":
            return value is None
        case _:
            return True
