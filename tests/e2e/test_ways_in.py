"""Every way text comes in (slash command, modal fields, pinned messages) keeps the same limits, survives
text no UTF-8 can hold, and counts once however often Slack delivers it: signed requests to the real app."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.slack.ids import Action, Block, Field
from bot.slack.text import MAX_SERVICES, MAX_TEXT, MAX_TIME_TEXT, MAX_TITLE
from standin.driver import Sent, checkboxes_value, input_value, select_value
from standin.harness import ALICE, BOB, CAROL, GENERAL, Hashi

LONG = "x" * 40_000


async def _declare(hashi: Hashi, title: str = "Checkout errors") -> str:
    await hashi.driver.command(f"declare SEV3 {title}", user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()
    return str(room)


async def _opened(hashi: Hashi, send: Any) -> dict[str, Any]:
    """The view a click or command opened."""
    before = len(hashi.standin.calls_to("views.open"))
    await send()
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open")[before:], what="the modal")
    return dict(opened[0].response["view"])


async def _card_modal(hashi: Hashi, room: str, action_id: str) -> dict[str, Any]:
    card = hashi.card(room)
    return await _opened(
        hashi, lambda: hashi.driver.click(user_id=BOB, channel_id=room, message=card, action_id=action_id)
    )


async def _declare_modal(hashi: Hashi) -> dict[str, Any]:
    return await _opened(hashi, lambda: hashi.driver.command("", user_id=BOB, channel_id=GENERAL))


def _declare_values(**fields: str) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {
        Block.TITLE: {Field.TITLE: input_value(fields.get("title", "Queue stuck"))},
        Block.SEVERITY: {Field.SEVERITY: select_value("SEV3")},
        Block.PRIVATE: {Field.PRIVATE: checkboxes_value([])},
    }
    for name, block, field in (
        ("services", Block.SERVICES, Field.SERVICES),
        ("summary", Block.SUMMARY, Field.SUMMARY),
        ("detected", Block.DETECTED, Field.DETECTED),
    ):
        if name in fields:
            values[block] = {field: input_value(fields[name])}
    return values


def _errors(sent: Sent) -> dict[str, str]:
    answer = sent.json() or {}
    assert sent.status == 200 and answer.get("response_action") == "errors", sent
    return dict(answer["errors"])


async def _timeline(hashi: Hashi, incident_id: int = 1) -> list[str]:
    snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
    return [entry.text for entry in snap.timeline]


# The same limits everywhere


async def test_modal_fields_keep_the_slash_commands_limits(hashi: Hashi) -> None:
    room = await _declare(hashi)
    before = await _timeline(hashi)
    note = await _card_modal(hashi, room, Action.NOTE)
    for text in (LONG, "y" * (MAX_TEXT + 1)):
        values = {Block.NOTE_TEXT: {Field.NOTE_TEXT: input_value(text)}}
        sent = await hashi.driver.submit(user_id=BOB, view=note, values=values)
        assert _errors(sent) == {Block.NOTE_TEXT: f"At most {MAX_TEXT} characters."}
    long_time = {Block.NOTE_AT: {Field.NOTE_AT: input_value("1" * (MAX_TIME_TEXT + 1))}}
    sent = await hashi.driver.submit(
        user_id=BOB, view=note, values={Block.NOTE_TEXT: {Field.NOTE_TEXT: input_value("hi")}} | long_time
    )
    assert Block.NOTE_AT in _errors(sent)
    resolve = await _card_modal(hashi, room, Action.RESOLVE)
    values = {Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value(LONG)}}
    sent = await hashi.driver.submit(user_id=BOB, view=resolve, values=values)
    assert _errors(sent) == {Block.RESOLVE_SUMMARY: f"At most {MAX_TEXT} characters."}
    await hashi.settle()
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert snap.status.value == "investigating" and [e.text for e in snap.timeline] == before

    declare = await _declare_modal(hashi)
    for fields, block, limit in (
        ({"title": LONG}, Block.TITLE, MAX_TITLE),
        ({"summary": LONG}, Block.SUMMARY, MAX_TEXT),
        ({"services": LONG}, Block.SERVICES, MAX_SERVICES),
    ):
        sent = await hashi.driver.submit(user_id=BOB, view=declare, values=_declare_values(**fields))
        assert _errors(sent) == {block: f"At most {limit} characters."}, fields
    await hashi.settle()
    assert await hashi.runtime.service.incident_for_channel(channel_id=room) == 1
    assert len([c for c in hashi.standin.channels.values() if c.name.startswith("inc-")]) == 1

    # At the limit, it is taken (as the slash command takes it).
    values = {Block.NOTE_TEXT: {Field.NOTE_TEXT: input_value("z" * MAX_TEXT)}}
    assert (await hashi.driver.submit(user_id=BOB, view=note, values=values)).body == ""
    await hashi.settle()
    assert "z" * MAX_TEXT in await _timeline(hashi)


async def test_a_long_pinned_message_is_kept_within_the_limit(hashi: Hashi) -> None:
    room = await _declare(hashi)
    posted = hashi.standin.add_message(room, user=CAROL, text=LONG)
    item = {"type": "message", "channel": room, "message": posted, "created": 1, "created_by": CAROL}
    await hashi.driver.event({"type": "pin_added", "user": CAROL, "channel_id": room, "item": item})
    await hashi.settle()
    pinned = [text for text in await _timeline(hashi) if text.startswith("x")]
    assert pinned == ["x" * (MAX_TEXT - 1) + "…"]


# Text no UTF-8 can hold


async def test_lone_surrogates_are_stored_as_replacement_characters(
    hashi_on_both: Hashi, caplog: pytest.LogCaptureFixture
) -> None:
    hashi = hashi_on_both
    room = await _declare(hashi)
    note = await _card_modal(hashi, room, Action.NOTE)
    values = {Block.NOTE_TEXT: {Field.NOTE_TEXT: input_value("half \ud800 a pair")}}
    assert (await hashi.driver.submit(user_id=BOB, view=note, values=values)).status == 200
    posted = hashi.standin.add_message(room, user=CAROL, text="pinned \udc00 half")
    item = {"type": "message", "channel": room, "message": posted, "created": 1, "created_by": CAROL}
    assert (
        await hashi.driver.event({"type": "pin_added", "user": CAROL, "channel_id": room, "item": item})
    ).status == 200
    declare = await _declare_modal(hashi)
    sent = await hashi.driver.submit(user_id=BOB, view=declare, values=_declare_values(title="Broken \ud83d"))
    assert sent.status == 200
    await hashi.eventually(lambda: hashi.channel_named("inc-2-"), what="the second incident")
    await hashi.settle()
    timeline = await _timeline(hashi)
    assert "half \ufffd a pair" in timeline and "pinned \ufffd half" in timeline
    second = await hashi.runtime.service.snapshot(incident_id=2)
    assert second.title == "Broken \ufffd"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert await hashi.runtime.inbox.deliveries.pending_count() == 0


# Once, however often Slack delivers it


async def test_a_modal_submitted_three_times_counts_once(hashi: Hashi) -> None:
    room = await _declare(hashi)
    note = await _card_modal(hashi, room, Action.NOTE)
    payload = hashi.driver.view_submission(
        user_id=BOB, view=note, values={Block.NOTE_TEXT: {Field.NOTE_TEXT: input_value("only once")}}
    )
    for _ in range(2):
        assert (await hashi.driver.interact(payload)).status == 200
    await asyncio.gather(hashi.driver.interact(payload), hashi.driver.interact(payload))
    resolve = await _card_modal(hashi, room, Action.RESOLVE)
    payload = hashi.driver.view_submission(
        user_id=BOB,
        view=resolve,
        values={Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value("rolled back")}},
    )
    await asyncio.gather(*(hashi.driver.interact(payload) for _ in range(3)))
    await hashi.settle()
    timeline = await _timeline(hashi)
    assert timeline.count("only once") == 1
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert snap.status.value == "resolved"
    assert len([e for e in snap.timeline if "rolled back" in e.text]) == 1


# Text that reorders or hides itself

HIDING = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u200f\u2060\ufeff"


def _every_text(value: object) -> str:
    """Every string in a call's arguments or an answer, as one."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(_every_text(v) for v in value.values())
    if isinstance(value, list | tuple):
        return "\n".join(_every_text(v) for v in value)
    return ""


async def test_what_others_read_shows_no_reversed_or_hidden_text(hashi: Hashi) -> None:
    title = "Invoice \u202egpj.exe\u202c pay\u200bment \u2066now\u2069"
    room = await _declare(hashi, title)
    await hashi.driver.command("note \u2067reversed\u2069 \ufeffnote\u200f", user_id=ALICE, channel_id=room)
    await hashi.driver.command("status identified \u202ewen\u202c cause", user_id=ALICE, channel_id=room)
    await hashi.driver.command("postmortem", user_id=ALICE, channel_id=room)
    await hashi.eventually(lambda: list(hashi.standin.files.values()), what="the postmortem upload")
    await hashi.settle()
    sent = [_every_text(call.args) for call in hashi.standin.calls]
    sent += [_every_text(answer) for answer in hashi.standin.responses]
    sent += [upload.content.decode() for upload in hashi.standin.files.values()]
    shown = "\n".join(sent)
    assert [hex(ord(c)) for c in HIDING if c in shown] == []
    assert "Invoice gpj.exe payment now" in shown  # the card, topic and announcement still show the title
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert snap.title == title  # the record keeps what was typed
