"""The facts table of Slack's Web API (standin/slack_facts.json): what the script derives from Slack's
spec, checked against the spec itself when ../shared is there, and enough for the stand-in without it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from standin.facts import FACTS_PATH, SOURCE, derive_from_file, dumps, read
from standin.spec import ApiSpec
from tests.conftest import REPO_ROOT, shared_path

SCRIPT = REPO_ROOT / "scripts" / "derive_slack_facts.py"

# A spec of two methods in the shape of Slack's (OpenAPI 2.0, one operation per path).
TINY_SPEC = {
    "swagger": "2.0",
    "info": {"version": "9.9.9"},
    "basePath": "/api",
    "paths": {
        "/pins.add": {
            "post": {
                "consumes": ["application/x-www-form-urlencoded", "application/json"],
                "description": "Pins an item to a channel.",
                "parameters": [
                    {"in": "header", "name": "token", "required": True, "type": "string"},
                    {"in": "formData", "name": "channel", "required": True, "type": "string"},
                    {"in": "formData", "name": "timestamp", "type": "string"},
                ],
                "security": [{"slackAuth": ["pins:write"]}],
                "responses": {
                    "200": {
                        "examples": {"application/json": {"ok": True}},
                        "schema": {
                            "additionalProperties": False,
                            "description": "Schema for successful response",
                            "properties": {"ok": {"$ref": "#/definitions/defs_ok_true"}},
                            "required": ["ok"],
                            "type": "object",
                        },
                    },
                    "default": {"schema": {"type": "object"}},
                },
            }
        },
        "/users.info": {
            "get": {
                "consumes": ["application/x-www-form-urlencoded"],
                "parameters": [{"in": "query", "name": "user", "type": "string"}],
                "security": [{"slackAuth": ["users:read"]}, {"slackAuth": ["bot", "users:read"]}],
                "responses": {
                    "200": {
                        "schema": {
                            "type": "object",
                            "properties": {"user": {"items": [{"type": "object"}, {"type": "null"}]}},
                        }
                    }
                },
            }
        },
    },
    "definitions": {"defs_ok_true": {"enum": [True], "title": "default success response", "type": "boolean"}},
}


@pytest.mark.reference_data
def test_the_table_is_what_the_script_derives_from_slacks_spec() -> None:
    spec = shared_path("slack", "specs", "slack_web_openapi_v2.json")
    assert derive_from_file(spec) == read(), "run scripts/derive_slack_facts.py: the spec changed"


def test_the_committed_table_is_as_the_script_writes_it() -> None:
    facts = read()
    assert FACTS_PATH.read_text(encoding="utf-8") == dumps(facts)
    assert facts["source"] | SOURCE == facts["source"]
    assert len(facts["source"]["sha256"]) == 64


def test_the_script_writes_the_facts_of_a_spec(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(TINY_SPEC), encoding="utf-8")
    out = tmp_path / "facts.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(spec), "--output", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    facts = json.loads(out.read_text(encoding="utf-8"))
    assert facts["source"]["version"] == "9.9.9"
    assert facts["methods"] == {
        "pins.add": {
            "http": "POST",
            "path": "/api/pins.add",
            "required": ["channel"],
            "scopes": ["pins:write"],
            "consumes": ["application/x-www-form-urlencoded", "application/json"],
            "response": {
                "type": "object",
                "required": ["ok"],
                "properties": {"ok": {"$ref": "#/definitions/defs_ok_true"}},
            },
        },
        "users.info": {
            "http": "GET",
            "path": "/api/users.info",
            "required": [],
            "scopes": ["bot", "users:read"],
            "consumes": ["application/x-www-form-urlencoded"],
            "response": {
                "type": "object",
                "properties": {"user": {"items": [{"type": "object"}, {"type": "null"}]}},
            },
        },
    }
    assert facts["definitions"] == {"defs_ok_true": {"type": "boolean"}}
    tiny = ApiSpec(facts)
    assert tiny.required_args("pins.add") == {"channel"}
    assert tiny.response_problems("pins.add", {"ok": "yes"}) == ["$.ok: expected boolean, got str"]
    assert tiny.response_problems("users.info", {"user": None}) == []


def test_the_script_says_when_it_finds_no_spec(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "absent.json"), "--output", str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Slack's spec not found" in done.stderr
    assert not (tmp_path / "out.json").exists()


def test_the_stand_in_runs_from_the_table_alone() -> None:
    spec = ApiSpec.load()
    # Methods other parts of Hashi call or may call, with what Slack requires of them.
    assert spec.knows("usergroups.users.list")
    assert spec.required_args("usergroups.users.list") == {"usergroup"}
    assert spec.required_args("chat.postMessage") == {"channel"}
    assert not spec.accepts_json("conversations.history")
    assert read()["methods"]["usergroups.users.list"]["scopes"] == ["usergroups:read"]
    assert spec.response_problems("usergroups.users.list", {"ok": True}) == ["$: missing 'users'"]
