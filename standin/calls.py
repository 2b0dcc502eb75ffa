"""A Web API call as the methods see it: its arguments, how a method fails, the faults a test injects."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from standin.state import (
    JSON,
)


class Failure(Exception):
    """Ends a method with Slack's `{"ok": false, "error": ...}`."""

    def __init__(self, error: str, *, messages: Iterable[str] = (), **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra: JSON = dict(extra)
        if messages:
            self.extra["response_metadata"] = {"messages": list(messages)}


@dataclass
class Fault:
    method: str
    status: int
    retry_after: int | None
    error: str | None
    remaining: int
    hang: float


class Args:
    """A call's arguments, whether they came as a query, a form or a JSON body."""

    def __init__(self, raw: JSON) -> None:
        self.raw = raw

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def text(self, name: str, default: str = "") -> str:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    def optional(self, name: str) -> str | None:
        return self.text(name) if self.has(name) else None

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in {"1", "true", "yes"}

    def integer(self, name: str, error: str = "invalid_arguments") -> int | None:
        if not self.has(name):
            return None
        try:
            return int(float(self.text(name)))
        except ValueError:
            raise Failure(error, messages=[f"[ERROR] {name} must be a number"]) from None

    def decoded(self, name: str, error: str = "invalid_arguments") -> Any:
        """A JSON-valued argument: form and query carry it as a string, JSON bodies as an object."""
        value = self.raw.get(name)
        if isinstance(value, str | bytes):
            try:
                return json.loads(value)
            except ValueError:
                raise Failure(error, messages=[f"[ERROR] {name} is not valid JSON"]) from None
        return value


def checked_blocks(blocks: Any, *, limit: int, pointer: str) -> list[Any]:
    if not isinstance(blocks, list):
        raise Failure("invalid_blocks_format")
    if len(blocks) > limit:
        raise Failure(
            "invalid_blocks",
            messages=[f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]"],
        )
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or not block.get("type"):
            raise Failure(
                "invalid_blocks",
                messages=[f"[ERROR] missing required field: type [json-pointer:{pointer}/{index}]"],
            )
    return blocks


def ts_arg(args: Args, name: str, error: str) -> float | None:
    if not args.text(name):
        return None
    try:
        return float(args.text(name))
    except ValueError:
        raise Failure(error) from None
