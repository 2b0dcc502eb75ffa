"""A vendor's OpenAPI 3 description, read from ../shared/specs/<vendor>: which operations exist, and what a
request body must hold (required fields, enums, JSON types)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from standin.spec import has_json_type

SHARED_ENV = "HASHI_SHARED_DIR"
VERBS = ("get", "put", "post", "delete", "patch")


def find_specs_dir() -> Path | None:
    """../shared/specs: $HASHI_SHARED_DIR/specs, else beside the checkout, else beside the working folder."""
    configured = os.environ.get(SHARED_ENV)
    candidates = [Path(configured) / "specs"] if configured else []
    repo_root = Path(__file__).resolve().parents[3]
    candidates += [repo_root.parent / "shared" / "specs", Path.cwd().parent / "shared" / "specs"]
    return next((c for c in candidates if c.is_dir()), None)


@dataclass(frozen=True)
class Operation:
    """One path and method the vendor documents."""

    verb: str
    template: str
    pattern: re.Pattern[str]
    definition: Mapping[str, Any]

    @property
    def name(self) -> str:
        """`POST /v2/enqueue` (the template, with the server's base path)."""
        return f"{self.verb.upper()} {self.template}"


class OpenApiSpec:
    """The operations of one OpenAPI 3 document, matched by method and path (the server's base path first)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        servers = document.get("servers") or [{"url": ""}]
        self.base_path = urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
        self.operations: list[Operation] = []
        for template, verbs in document.get("paths", {}).items():
            full = self.base_path + template
            pattern = re.compile("^" + re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(full)) + "$")
            for verb, definition in verbs.items():
                if verb in VERBS:
                    self.operations.append(Operation(verb, full, pattern, definition))

    @classmethod
    def load(cls, vendor: str, filename: str) -> OpenApiSpec:
        """Reads specs/<vendor>/<filename>; raises FileNotFoundError when ../shared is not found."""
        specs = find_specs_dir()
        if specs is None or not (specs / vendor / filename).is_file():
            raise FileNotFoundError(f"specs/{vendor}/{filename} not found (set {SHARED_ENV} to ../shared)")
        return cls(json.loads((specs / vendor / filename).read_text(encoding="utf-8")))

    def match(self, verb: str, path: str) -> Operation | None:
        """The documented operation for this method and path, or None."""
        # A literal segment beats a parameter (GitHub's /issues/{n}/comments against /issues/{n}).
        found = [op for op in self.operations if op.verb == verb.lower() and op.pattern.match(path)]
        return min(found, key=lambda op: op.template.count("{"), default=None)

    def known_path(self, path: str) -> bool:
        """Whether any method is documented at this path (a wrong method is 405, an unknown path 404)."""
        return any(op.pattern.match(path) for op in self.operations)

    def request_problems(self, operation: Operation, body: Any) -> list[str]:
        """What the request body lacks or gets wrong against the operation's schema (empty when it fits)."""
        request = self._resolve(operation.definition.get("requestBody") or {})
        content: Mapping[str, Any] = request.get("content", {})
        media: Mapping[str, Any] = content.get("application/json") or next(iter(content.values()), {})
        schema = media.get("schema")
        if body is None:
            return ["a request body is required"] if request.get("required") else []
        if schema is None:
            return []
        return self.check(schema, body, "$")

    def check(self, schema: Mapping[str, Any], value: Any, where: str) -> list[str]:
        """Problems of `value` against `schema`: types, required properties, enums, nested."""
        schema = self._resolve(schema)
        problems: list[str] = []
        for part in schema.get("allOf", []):
            problems += self.check(part, value, where)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                results: list[list[str]] = [self.check(option, value, where) for option in schema[key]]
                if all(results):
                    problems.extend(sorted(results, key=len)[0])
        if value is None and schema.get("nullable"):
            return problems
        expected = schema.get("type")
        if isinstance(expected, str) and not has_json_type(value, expected.lower()):
            return [*problems, f"{where}: expected {expected}, got {type(value).__name__}"]
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(json.dumps(v) for v in schema["enum"])
            problems.append(f"{where}: {json.dumps(value)} is not one of {allowed}")
        if isinstance(value, dict):
            problems += [
                f"{where}: missing {key!r}" for key in schema.get("required", []) if key not in value
            ]
            for key, subschema in schema.get("properties", {}).items():
                if key in value:
                    problems += self.check(subschema, value[key], f"{where}.{key}")
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                problems += self.check(schema["items"], item, f"{where}[{index}]")
        return problems

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            node: Any = self.document
            for part in str(schema["$ref"]).lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema
