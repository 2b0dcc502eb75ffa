"""Correcting the incident record through signed Slack requests: `/incident timeline` and its Edit modal, and
the milestone review in the resolve modal."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from bot.reports.export import export_json
from bot.reports.formatting import iso_utc
from bot.slack.ids import Action, Block, Field
from standin.driver import checkboxes_value, input_value
from standin.harness import ALICE, BOB, CAROL, GENERAL, MALLORY, Hashi
from tests.e2e.test_record import _reply
from tests.e2e.test_security import _declare_in_modal, _membership

# Timeline editing: `/incident timeline` lists the latest entries, each with an Edit button and its modal.


def _direct_messages(hashi: Hashi, user: str) -> list[dict[str, Any]]:
    """What Hashi told a user in their direct messages with it."""
    return [
        message
        for channel in hashi.standin.channels.values()
        if channel.is_im and user in channel.members
        for message in channel.messages
    ]


def _entry_block(reply: dict[str, Any], fragment: str) -> dict[str, Any]:
    """The section of a timeline page whose entry says `fragment`."""
    return next(b for b in reply["blocks"] if b["type"] == "section" and fragment in b["text"]["text"])


def _one_block_message(reply: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    """The page with only that entry's block, so a click finds its Edit button."""
    return {**reply, "blocks": [block]}


async def _timeline(hashi: Hashi, user: str, channel: str, text: str = "timeline") -> dict[str, Any]:
    sent = await hashi.driver.command(text, user_id=user, channel_id=channel)
    replies = await hashi.eventually(lambda: hashi.standin.responses_to(sent.response_url or ""), what=text)
    assert len(replies) == 1 and replies[0].get("response_type") == "ephemeral", replies
    return dict(replies[0])


async def _open_editor(
    hashi: Hashi, user: str, room: str, page: dict[str, Any], fragment: str, *, value: str | None = None
) -> dict[str, Any]:
    """Clicks Edit beside the entry that says `fragment` (with its button's value replaced, to forge one);
    returns the modal Hashi opened."""
    block = _entry_block(page, fragment)
    if value is not None:
        block = {**block, "accessory": {**block["accessory"], "value": value}}
    opens = len(hashi.standin.calls_to("views.open"))
    await hashi.driver.click(
        user_id=user, channel_id=room, message=_one_block_message(page, block), action_id=Action.TIMELINE_EDIT
    )
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open")[opens:], what="the modal")
    return dict(opened[0].response["view"])


def _initial(view: dict[str, Any], block_id: str) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return str(block["element"].get("initial_value", ""))


async def _save(
    hashi: Hashi,
    user: str,
    view: dict[str, Any],
    *,
    text: str | None = None,
    at: str | None = None,
    delete: bool = False,
) -> Any:
    """Submits an entry's modal with the text and time changed where given (as shown where not)."""
    text = _initial(view, Block.ENTRY_TEXT) if text is None else text
    at = _initial(view, Block.ENTRY_AT) if at is None else at
    values: dict[str, dict[str, Any]] = {
        Block.ENTRY_TEXT: {Field.ENTRY_TEXT: input_value(text)},
        Block.ENTRY_AT: {Field.ENTRY_AT: input_value(at)},
    }
    if any(b.get("block_id") == Block.ENTRY_DELETE for b in view["blocks"]):
        values[Block.ENTRY_DELETE] = {Field.ENTRY_DELETE: checkboxes_value(["delete"] if delete else [])}
    sent = await hashi.driver.submit(user_id=user, view=view, values=values)
    await hashi.settle()
    return sent


async def test_correcting_and_deleting_timeline_entries_keeps_what_they_said(hashi: Hashi) -> None:
    await hashi.driver.command("declare SEV2 Checkout errors", user_id=BOB, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
    await hashi.settle()
    for text in ("note Rolled back the deploy", "note Paged the &lt;team&gt; &amp; db owners", "ack"):
        await hashi.driver.command(text, user_id=BOB, channel_id=room)
        await hashi.settle()
    page = await _timeline(hashi, BOB, room)
    assert page["blocks"][0]["text"]["text"] == "Timeline of INC-1 (5)"  # with the playbook it started
    # Latest first; user text escaped (no markup smuggled in).
    sections = [b["text"]["text"] for b in page["blocks"] if b["type"] == "section"]
    assert "Acknowledged" in sections[0] and "Declared" in sections[-1]
    assert "&lt;team&gt; &amp; db" in sections[1]

    # Correct a note's text; its time stays.
    view = await _open_editor(hashi, BOB, room, page, "Rolled back")
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    note = next(e for e in snap.timeline if e.text == "Rolled back the deploy")
    await _save(hashi, BOB, view, text="Rolled back deploy 4812")
    assert "Saved the timeline entry on INC-1." in [m["text"] for m in hashi.standin.ephemeral[BOB]]
    data = export_json(await hashi.runtime.service.snapshot(incident_id=1))
    (edited,) = [e for e in data["timeline"] if e["text"] == "Rolled back deploy 4812"]
    assert edited["at"] == iso_utc(note.at) and edited["edited_by"] == BOB and edited["edited_at"]
    assert edited["previous"] == [
        {"at": iso_utc(note.at), "text": "Rolled back the deploy", "edited_at": None, "edited_by": None}
    ]
    assert all("edited_at" not in e for e in data["timeline"] if e is not edited)

    # Move the acknowledgement: the milestone and the time to acknowledge move with it.
    declared = snap.milestones.declared_at
    assert declared is not None
    moved_to = declared + timedelta(milliseconds=250)
    view = await _open_editor(hashi, BOB, room, page, "Acknowledged")
    assert not any(b.get("block_id") == Block.ENTRY_DELETE for b in view["blocks"])  # a milestone stays
    await _save(hashi, BOB, view, at=moved_to.isoformat().replace("+00:00", "Z"))
    after = await hashi.runtime.service.snapshot(incident_id=1)
    assert after.milestones.acknowledged_at == moved_to
    assert export_json(after)["metrics"]["time_to_acknowledge"] == 0.25
    rows = await hashi.runtime.service.stats_rows(
        since=declared - timedelta(days=1), until=declared + timedelta(days=1)
    )
    assert rows[0].acknowledged_us - rows[0].declared_us == 250_000  # incident_stats, in microseconds
    assert any("is now" in m["text"] and "Acknowledged" in m["text"] for m in hashi.standin.ephemeral[BOB])

    # Delete the other note: off the timeline and the postmortem, kept in storage with who deleted it.
    view = await _open_editor(hashi, BOB, room, page, "db owners")
    await _save(hashi, BOB, view, delete=True)
    after = await hashi.runtime.service.snapshot(incident_id=1)
    assert all("db owners" not in e.text for e in after.timeline)
    await hashi.driver.command("postmortem", user_id=BOB, channel_id=room)
    upload = await hashi.eventually(
        lambda: [f for f in hashi.standin.files.values() if f.completed], what="the postmortem upload"
    )
    draft = upload[0].content.decode()
    assert "Rolled back deploy 4812" in draft and "db owners" not in draft
    async with hashi.runtime.store.transaction() as repo:
        alive, _ = await repo.latest_events(incident_id=1, limit=50, offset=0)
        assert all("db owners" not in str(row["text"]) for row in alive)
        entry_id = int(_entry_block(page, "db owners")["accessory"]["value"].split(":")[1])
        kept = await repo.event(incident_id=1, event_id=entry_id)
        assert kept is not None and kept.deleted and kept.edited_by == BOB and "db owners" in kept.text
    page = await _timeline(hashi, BOB, room)
    assert page["blocks"][0]["text"]["text"] == "Timeline of INC-1 (4)"
    assert "_(edited)_" in _entry_block(page, "4812")["text"]["text"]


async def test_edits_are_refused_across_incidents_and_outside_private_ones(hashi: Hashi) -> None:
    await hashi.driver.command("declare SEV2 Checkout errors", user_id=BOB, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
    await hashi.settle()
    await hashi.driver.command("note Rolled back the deploy", user_id=BOB, channel_id=room)
    await hashi.driver.command("declare SEV3 Search slow", user_id=BOB, channel_id=GENERAL)
    await hashi.settle()
    page = await _timeline(hashi, BOB, room)
    entry_id = _entry_block(page, "Rolled back")["accessory"]["value"].split(":")[1]

    # The Edit button of INC-1's entry, forged to name INC-2: no such entry there, nothing changes.
    block = {**_entry_block(page, "Rolled back")}
    block["accessory"] = {**block["accessory"], "value": f"2:{entry_id}"}
    before = len(hashi.standin.responses)
    await hashi.driver.click(
        user_id=BOB, channel_id=room, message=_one_block_message(page, block), action_id=Action.TIMELINE_EDIT
    )
    said = await hashi.eventually(lambda: hashi.standin.responses[before:], what="the refusal")
    assert f"INC-2 has no timeline entry {entry_id}" in said[0]["text"]
    # A forged submission naming INC-2 with INC-1's entry is refused the same way.
    view = await _open_editor(hashi, BOB, room, page, "Rolled back")
    meta = json.loads(view["private_metadata"])
    forged = {**view, "private_metadata": json.dumps({**meta, "i": 2})}
    await _save(hashi, BOB, forged, text="Something else")
    assert any(f"INC-2 has no timeline entry {entry_id}" in m["text"] for m in _direct_messages(hashi, BOB))
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert any(e.text == "Rolled back the deploy" and e.edited_at is None for e in snap.timeline)

    # A private incident: Mallory, outside it, can neither list its timeline nor submit an edit.
    secret = await _declare_in_modal(hashi, "Secret rotation leak", services="vault", private=True)
    await hashi.driver.command("note Rotated the vault key", user_id=ALICE, channel_id=secret)
    await hashi.settle()
    listed = await _timeline(hashi, ALICE, secret)
    assert "Rotated the vault key" in json.dumps(listed)
    refused = await _reply(hashi, "timeline INC-3", MALLORY, GENERAL)
    assert "no incident INC-3 you can see" in refused and "vault" not in refused
    view = await _open_editor(hashi, ALICE, secret, listed, "Rotated")
    await _save(hashi, MALLORY, view, text="Mallory was here")
    assert any("no incident INC-3 you can see" in m["text"] for m in _direct_messages(hashi, MALLORY))
    # Carol joined its channel and left: she is outside it again.
    await hashi.driver.event(_membership(hashi, "member_joined_channel", CAROL, secret, "1.1"))
    await hashi.driver.event(_membership(hashi, "member_left_channel", CAROL, secret, "1.2"))
    await hashi.settle()
    await _save(hashi, CAROL, view, delete=True)
    assert any("no incident INC-3 you can see" in m["text"] for m in _direct_messages(hashi, CAROL))
    snap = await hashi.runtime.service.snapshot(incident_id=3)
    assert any(e.text == "Rotated the vault key" and e.edited_at is None for e in snap.timeline)

    # Bad input in the modal: empty text, an unreadable or future time; errors next to the fields.
    view = await _open_editor(hashi, BOB, room, page, "Rolled back")
    sent = await hashi.driver.submit(
        user_id=BOB,
        view=view,
        values={
            Block.ENTRY_TEXT: {Field.ENTRY_TEXT: input_value("  ")},
            Block.ENTRY_AT: {Field.ENTRY_AT: input_value("tomorrow-ish")},
            Block.ENTRY_DELETE: {Field.ENTRY_DELETE: checkboxes_value([])},
        },
    )
    errors = json.loads(sent.body)["errors"]
    assert "needs some text" in errors[Block.ENTRY_TEXT] and "could not read" in errors[Block.ENTRY_AT]


# The milestone review at resolve.


async def _resolve_modal(hashi: Hashi, user: str, room: str) -> dict[str, Any]:
    opens = len(hashi.standin.calls_to("views.open"))
    await hashi.driver.click(
        user_id=user, channel_id=room, message=hashi.card(room), action_id=Action.RESOLVE
    )
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open")[opens:], what="the modal")
    return dict(opened[0].response["view"])


def _block_ids(view: dict[str, Any]) -> set[str]:
    return {str(b.get("block_id")) for b in view["blocks"]}


async def test_the_resolve_modal_reviews_the_milestones_and_fills_the_missing_ones(hashi: Hashi) -> None:
    await hashi.driver.command("declare SEV3 Checkout errors", user_id=BOB, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
    await hashi.settle()
    view = await _resolve_modal(hashi, BOB, room)
    review = json.dumps(view["blocks"])
    assert "Milestones so far" in review and "Declared" in review and "Out of order" not in review
    assert {Block.RESOLVE_IMPACT, Block.RESOLVE_DETECTED, Block.RESOLVE_MITIGATED} <= _block_ids(view)
    # Fill in two; leave mitigation to the resolution. Nothing is forced.
    await hashi.driver.submit(
        user_id=BOB,
        view=view,
        values={
            Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value("Rolled back")},
            Block.RESOLVE_AT: {Field.RESOLVE_AT: input_value("")},
            Block.RESOLVE_IMPACT: {Field.RESOLVE_IMPACT: input_value("20m ago")},
            Block.RESOLVE_DETECTED: {Field.RESOLVE_DETECTED: input_value("15m ago")},
            Block.RESOLVE_MITIGATED: {Field.RESOLVE_MITIGATED: input_value("")},
        },
    )
    await hashi.settle()
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    m = snap.milestones
    assert snap.status.value == "resolved" and m.impact_started_at and m.detected_at and m.resolved_at
    assert m.impact_started_at < m.detected_at < m.resolved_at and m.mitigated_at == m.resolved_at
    assert [e.kind for e in snap.timeline].count("milestone") == 2
    assert not m.out_of_order()

    # A second incident whose recorded milestones are out of order: the modal says so, and asks only for
    # what is missing; resolving still works, and the resolver hears what stats will flag.
    await hashi.driver.command("declare SEV3 Search slow", user_id=BOB, channel_id=GENERAL)
    second = await hashi.eventually(lambda: hashi.channel_named("inc-2-"), what="the channel")
    await hashi.settle()
    for text in ("impact start 5m ago", "mitigated at 10m ago"):
        await hashi.driver.command(text, user_id=BOB, channel_id=second)
        await hashi.settle()
    view = await _resolve_modal(hashi, BOB, second)
    review = json.dumps(view["blocks"])
    assert "Out of order: Mitigated before Impact started" in review
    assert Block.RESOLVE_DETECTED in _block_ids(view)
    assert not {Block.RESOLVE_IMPACT, Block.RESOLVE_MITIGATED} & _block_ids(view)
    sent = await hashi.driver.submit(
        user_id=BOB,
        view=view,
        values={
            Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value("")},
            Block.RESOLVE_AT: {Field.RESOLVE_AT: input_value("")},
            Block.RESOLVE_DETECTED: {Field.RESOLVE_DETECTED: input_value("in a while")},
        },
    )
    assert "could not read" in json.loads(sent.body)["errors"][Block.RESOLVE_DETECTED]
    assert (await hashi.runtime.service.snapshot(incident_id=2)).status.value != "resolved"
    await hashi.driver.submit(
        user_id=BOB,
        view=view,
        values={
            Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value("")},
            Block.RESOLVE_AT: {Field.RESOLVE_AT: input_value("")},
            Block.RESOLVE_DETECTED: {Field.RESOLVE_DETECTED: input_value("")},
        },
    )
    await hashi.settle()
    assert (await hashi.runtime.service.snapshot(incident_id=2)).status.value == "resolved"
    told = [m["text"] for m in hashi.standin.ephemeral[BOB]]
    assert any("INC-2 is resolved" in said and "Mitigated before Impact started" in said for said in told)
    stats = await _reply(hashi, "stats 1d", BOB, GENERAL)
    assert re.search(r"milestones out of order\s+1\s+INC-2", stats)


async def test_the_timeline_pages_latest_first(hashi: Hashi) -> None:
    await hashi.driver.command("declare SEV4 Flaky test runner", user_id=BOB, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
    await hashi.settle()
    for number in range(1, 11):
        await hashi.driver.command(f"note step {number:02d}", user_id=BOB, channel_id=room)
        await hashi.settle()  # one after another, so their order is known
    first = await _timeline(hashi, BOB, room)
    texts = [b["text"]["text"] for b in first["blocks"] if b["type"] == "section"]
    assert first["blocks"][0]["text"]["text"] == "Timeline of INC-1 (11)" and len(texts) == 10
    assert "step 10" in texts[0] and "step 01" in texts[-1]  # latest first
    assert "Page 1 of 2" in json.dumps(first)
    before = len(hashi.standin.responses)
    await hashi.driver.click(
        user_id=BOB, channel_id=room, message=first, action_id=f"{Action.TIMELINE_PAGE}_next"
    )
    (second,) = await hashi.eventually(lambda: hashi.standin.responses[before:], what="page 2")
    assert second["replace_original"] is True
    (only,) = [b["text"]["text"] for b in second["blocks"] if b["type"] == "section"]
    assert "Declared SEV4" in only and "Page 2 of 2" in json.dumps(second)
    typed = await _timeline(hashi, BOB, room, "timeline 2")
    assert typed["blocks"] == second["blocks"]
    refused = await _reply(hashi, "timeline two", BOB, room)
    assert "/incident timeline [page]" in refused
