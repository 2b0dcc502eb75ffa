"""Block Kit limits hold for any text a user can type."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.blocks.confirmations import BUTTON_VALUE_LIMIT, gate_blocks
from bot.slack.blocks.messages import answer_messages
from bot.slack.blocks.mrkdwn import safe_cut, split_mrkdwn, user_text
from bot.slack.ids import Action
from bot.slack.payloads import ResolveAnywayButton
from bot.slack.text import MAX_TEXT


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
    asked = ResolveAnywayButton.decode(button["value"])
    assert asked is not None
    incident_id, when = asked.incident_id, asked.at
    assert (incident_id, when) == (7, at)
    # The summary travels whole in the gate's input, which Slack sends back with the click (state); no
    # way in takes more than MAX_TEXT characters of it.
    (summary_input,) = [b for b in blocks if b["type"] == "input"]
    assert summary_input["element"].get("initial_value", "") == summary[:MAX_TEXT]


def test_the_gate_splits_a_long_list_over_sections_and_keeps_its_button() -> None:
    items = [f"Item {n:03d} " + "&" * 140 for n in range(700)]
    blocks = gate_blocks(incident_id=7, items=items, summary="", at=None, lang="en")
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(blocks) <= 50 and all(len(s) <= 3000 for s in sections)
    assert blocks[-1]["elements"][0]["action_id"] == Action.RESOLVE_ANYWAY
    shown = "\n".join(sections)
    assert "Item 000" in shown and "more" in shown  # what does not fit in a message is counted, not dropped


# One way to split a long answer

_PIECE = st.sampled_from(
    ["word", " ", "\n", "&amp;", "&lt;", "<@U0ALICE>", "<!date^1|x>", "```", "日本", "`"]
)


def _balanced(piece: str) -> bool:
    return piece.count("```") % 2 == 0


def _without_cuts(piece: str) -> bool:
    """No entity or `<…>` token is cut at either end of a piece."""
    stripped = piece.removeprefix("```").removesuffix("```")
    return not re.search(r"&[a-z]*$|<[^>]*$", stripped) and not re.match(r"^[a-z]*;|^[^<]*>", stripped)


@settings(max_examples=500)
@given(st.lists(_PIECE, max_size=400), st.integers(min_value=20, max_value=200))
def test_split_mrkdwn_keeps_every_piece_within_the_limit_and_whole(parts: list[str], limit: int) -> None:
    text = "".join(parts)
    pieces = split_mrkdwn(text, limit=limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert all(_balanced(p) for p in pieces)
    assert all(_without_cuts(p) for p in pieces), pieces
    # Nothing is lost: without the fences added and the breaks between pieces, the text is the same.
    squeeze = re.compile(r"`|\s")
    assert squeeze.sub("", "".join(pieces)) == squeeze.sub("", text)


def test_split_mrkdwn_closes_and_reopens_a_code_block() -> None:
    table = "\n".join(f"row {n:03d} | 12m | 3h" for n in range(400))
    pieces = split_mrkdwn(f"*Stats*\n```{table}```\nData quality: fine")
    assert len(pieces) > 1
    assert pieces[0].startswith("*Stats*\n```") and pieces[0].endswith("```")
    assert all(p.startswith("```") for p in pieces[1:])
    assert pieces[-1].endswith("Data quality: fine")


@pytest.mark.parametrize("text", ["a" * 2990 + " &amp;&amp;&amp;", "a" * 2995 + "<@U0ALICE|alice>"])
def test_safe_cut_and_user_text_never_cut_an_entity_or_mention(text: str) -> None:
    cut = safe_cut(text, 3000)
    assert cut <= 3000 and text[cut - 1] not in "&<" and not re.search(r"&[a-z]*$|<[^>]*$", text[:cut])
    shown = user_text("a" * 298 + "&", limit=300)
    assert shown.endswith("…") and "&a…" not in shown and "&am…" not in shown


def test_an_answer_longer_than_a_message_goes_over_several_whole() -> None:
    text = "\n".join(f"line {n:05d} &amp; <@U0BOB>" for n in range(8000))
    messages = answer_messages(text, fallback="")
    assert len(messages) > 1
    assert all(len(m.blocks) <= 50 and len(m.text) <= 40_000 for m in messages)
    assert "\n".join(m.text for m in messages) == text
    many = [{"type": "divider"}] * 120
    assert [len(m.blocks) for m in answer_messages(many, fallback="x")] == [50, 50, 20]


def test_the_pinned_checklist_says_how_many_items_it_leaves_to_the_command() -> None:
    from bot.incidents.model import ChecklistItemView, Milestones, Status
    from bot.incidents.model import IncidentSnapshot as Snapshot
    from bot.slack.blocks.checklist import checklist_blocks, pinned_checklist_blocks

    items = tuple(
        ChecklistItemView(playbook=f"pb{n // 100}", key=f"k{n}", title=f"Item {n}", done=False, done_by=None,
                          done_at=None, required=False, owner_role=None, due_at=None, details="")
        for n in range(600)
    )  # fmt: skip
    snap = Snapshot(
        id=3, title="Big", severity="SEV1", status=Status.INVESTIGATING, private=False, services=(),
        summary="", lead=None, declared_by="U1", channel_id="C1",
        milestones=Milestones(declared_at=datetime(2026, 11, 24, 5, 0, tzinfo=UTC)), checklists=items,
    )  # fmt: skip
    every = checklist_blocks(snap, "en")
    pinned = pinned_checklist_blocks(snap, "en")
    assert len(every) > 50 and len(pinned) == 50
    shown = sum(len(e.get("options", ())) for b in pinned for e in b.get("elements", ()))
    assert f"…and {600 - shown} more items" in pinned[-1]["text"]["text"]
    assert "/incident checklist" in pinned[-1]["text"]["text"]
