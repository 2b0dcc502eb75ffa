"""Block Kit limits hold for any text a user can type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.slack.blocks import BUTTON_VALUE_LIMIT, gate_blocks
from bot.slack.ids import Action
from bot.slack.listeners.actions import _resolve_request


@pytest.mark.parametrize(
    "summary",
    ["\\" * 2900, '"' * 2900, "復旧を確認" * 600, "\U0001f525" * 2900, "short and plain", ""],
    ids=["backslashes", "quotes", "japanese", "emoji", "short", "empty"],
)
def test_resolve_anyway_button_fits_and_carries_the_summary(summary: str) -> None:
    at = datetime(2026, 11, 24, 5, 6, tzinfo=UTC)
    blocks = gate_blocks(incident_id=7, items=["Page the owner"], summary=summary, at=at, lang="en")
    button = next(
        e for b in blocks for e in b.get("elements", []) if e.get("action_id") == Action.RESOLVE_ANYWAY
    )
    assert len(button["value"]) <= BUTTON_VALUE_LIMIT
    asked = _resolve_request(button["value"])
    assert asked is not None
    incident_id, when, kept = asked
    assert (incident_id, when) == (7, at)
    assert summary.startswith(kept) and len(kept) >= min(len(summary), 900)
