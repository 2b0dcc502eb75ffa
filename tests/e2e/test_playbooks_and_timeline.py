"""Playbooks, reminders and the Slack-sourced timeline, driven the way Slack drives them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.slack.ids import Action
from standin.harness import ALICE, BOB, CAROL, GENERAL, Hashi
from tests.e2e.slack_retries import shorten_retry_waits


async def _declare(hashi: Hashi, text: str) -> str:
    await hashi.driver.command(text, user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-"), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()
    return str(room)


def _checklist(hashi: Hashi, room: str) -> dict[str, Any]:
    for message in hashi.messages(room):
        if any(str(b.get("block_id", "")).startswith("hashi_checklist_") for b in message.get("blocks", [])):
            return message
    raise AssertionError("no checklist message")


def _options(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(block_id, option value) of every checklist option in a message."""
    return [
        (b["block_id"], o["value"])
        for b in message["blocks"]
        if b.get("type") == "actions"
        for o in b["elements"][0]["options"]
    ]


def _ticked(message: dict[str, Any]) -> set[str]:
    return {
        o["value"]
        for b in message["blocks"]
        if b.get("type") == "actions"
        for o in b["elements"][0].get("initial_options", [])
    }


async def _tick(hashi: Hashi, room: str, user: str, block_id: str, values: list[str]) -> None:
    await hashi.driver.click(
        user_id=user,
        channel_id=room,
        message=_checklist(hashi, room),
        action_id=Action.CHECKLIST,
        values=values,
        block_id=block_id,
    )
    await hashi.settle()


async def test_sev1_starts_major_incident_checklist_and_ticks_are_recorded(hashi: Hashi) -> None:
    room = await _declare(hashi, "declare SEV1 Payments down")
    checklist = _checklist(hashi, room)
    options = _options(checklist)
    assert options and all(value.startswith("major-incident/") for _, value in options)
    assert all(
        len(b["elements"][0]["options"]) <= 10 for b in checklist["blocks"] if b.get("type") == "actions"
    )
    assert "major-incident 0/" in json.dumps(hashi.card(room))

    first_block = options[0][0]
    in_block = [v for b, v in options if b == first_block]
    await _tick(hashi, room, BOB, first_block, in_block[:2])
    assert _ticked(_checklist(hashi, room)) >= set(in_block[:2])  # the message is updated in place
    assert "major-incident 2/" in json.dumps(hashi.card(room))
    await _tick(hashi, room, CAROL, first_block, in_block[:1])  # Carol unticks the second item

    incident_id = await hashi.runtime.service.incident_for_channel(channel_id=room)
    snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
    done = {i.key: i for i in snap.checklists if i.done}
    assert set(done) == {in_block[0].split("/", 1)[1]} and done[in_block[0].split("/", 1)[1]].done_by == BOB
    kinds = [(e.actor, e.text.split(":")[0]) for e in snap.timeline if e.kind == "checklist"]
    assert (BOB, "Done") in kinds and (CAROL, "Not done") in kinds
    from bot.reports.export import export_json

    exported = export_json(snap)
    items = exported["checklists"][0]["items"]
    assert exported["checklists"][0]["playbook"] == "major-incident"
    assert sum(i["done"] for i in items) == 1 and next(i for i in items if i["done"])["done_by"] == BOB


async def test_reminders_wait_in_slacks_scheduler_and_go_when_their_reason_does(hashi: Hashi) -> None:
    room = await _declare(hashi, "declare SEV1 Queue backlog")
    scheduled = {s.text: s for s in hashi.standin.scheduled.values() if s.channel_id == room}
    assert any("status update" in text for text in scheduled), "no status-update reminder scheduled"
    due_items = [t for t in scheduled if "Due now" in t]
    assert due_items, "no checklist item reminders scheduled"
    first = min(hashi.standin.scheduled.values(), key=lambda s: s.post_at)
    assert first.post_at > first.date_created

    # A status update moves the status reminder: the old one is deleted, a new one scheduled.
    before = {s.id for s in hashi.standin.scheduled.values() if "Time for a status update" in s.text}
    await asyncio.sleep(1.1)  # Slack's post_at counts whole seconds: let the next update land in a later one
    await hashi.driver.command("status identified Found the stuck consumer", user_id=BOB, channel_id=room)
    await hashi.settle()
    after = {s.id for s in hashi.standin.scheduled.values() if "Time for a status update" in s.text}
    assert len(after) == 1 and after.isdisjoint(before)
    assert hashi.standin.calls_to("chat.deleteScheduledMessage")

    # At most three messages wait per incident: the status update, its escalation, and one naming every
    # checklist item due next (Slack's scheduler refuses a 31st due within five minutes in a channel).
    waiting = [s for s in hashi.standin.scheduled.values() if s.channel_id == room]
    assert len(waiting) <= 3 and len([s for s in waiting if "Due now" in s.text]) == 1

    # Ticking an item due next takes it out of that reminder.
    (due,) = [s for s in hashi.standin.scheduled.values() if s.channel_id == room and "Due now" in s.text]
    options = _options(_checklist(hashi, room))
    snap = await hashi.runtime.service.snapshot(
        incident_id=await hashi.runtime.service.incident_for_channel(channel_id=room)
    )
    first_due = min((i for i in snap.checklists if i.due_at), key=lambda i: i.due_at)
    assert first_due.title in due.text
    block, value = next((b, v) for b, v in options if v == f"{first_due.playbook}/{first_due.key}")
    await _tick(hashi, room, BOB, block, [value])
    await hashi.settle()
    after_tick = [s for s in hashi.standin.scheduled.values() if s.channel_id == room and "Due now" in s.text]
    assert len(after_tick) <= 1 and all(first_due.title not in s.text for s in after_tick)

    # Resolving (confirming the open required items) removes every reminder.
    sent = await hashi.driver.command("resolve Consumer restarted", user_id=BOB, channel_id=room)
    gate = await hashi.eventually(
        lambda: hashi.standin.responses_to(sent.response_url or ""), what="the gate"
    )
    assert "required checklist items open" in json.dumps(gate)
    assert [
        s for s in hashi.standin.scheduled.values() if s.channel_id == room
    ]  # still waiting: not resolved
    gate_message = {"ts": "0", "blocks": gate[0]["blocks"]}
    await hashi.driver.click(
        user_id=BOB, channel_id=room, message=gate_message, action_id=Action.RESOLVE_ANYWAY
    )
    await hashi.eventually(
        lambda: not [s for s in hashi.standin.scheduled.values() if s.channel_id == room],
        what="every reminder cancelled",
    )
    snap = await hashi.runtime.service.snapshot(
        incident_id=await hashi.runtime.service.incident_for_channel(channel_id=room)
    )
    assert snap.status.value == "resolved"


async def test_gate_passes_once_required_items_are_done(hashi: Hashi) -> None:
    room = await _declare(hashi, "declare SEV2 Search errors")
    incident_id = await hashi.runtime.service.incident_for_channel(channel_id=room)
    snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
    required = {f"{i.playbook}/{i.key}" for i in snap.checklists if i.required}
    for block, _ in sorted(set(_options(_checklist(hashi, room)))):
        wanted = [v for b, v in _options(_checklist(hashi, room)) if b == block and v in required]
        if wanted:
            await _tick(hashi, room, BOB, block, wanted)
    sent = await hashi.driver.command("resolve Fixed", user_id=BOB, channel_id=room)
    await hashi.settle()
    assert hashi.standin.responses_to(sent.response_url or "") == []  # no gate, nothing to confirm
    snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
    assert snap.status.value == "resolved"
    assert "required items still open" not in next(e.text for e in snap.timeline if e.kind == "resolved")


async def test_playbook_command_and_checklist_command(hashi: Hashi) -> None:
    room = await _declare(hashi, "declare SEV4 Flaky deploys")
    started = await hashi.driver.command("playbook bad-deploy-rollback", user_id=BOB, channel_id=room)
    reply = await hashi.eventually(lambda: hashi.standin.responses_to(started.response_url or ""))
    assert "Started playbook" in reply[0]["text"]
    again = await hashi.driver.command("playbook bad-deploy-rollback", user_id=BOB, channel_id=room)
    assert (
        "already running"
        in (await hashi.eventually(lambda: hashi.standin.responses_to(again.response_url or "")))[0]["text"]
    )
    unknown = await hashi.driver.command("playbook nope", user_id=BOB, channel_id=room)
    assert (
        "major-incident"
        in (await hashi.eventually(lambda: hashi.standin.responses_to(unknown.response_url or "")))[0]["text"]
    )
    shown = await hashi.driver.command("checklist", user_id=BOB, channel_id=room)
    listing = await hashi.eventually(lambda: hashi.standin.responses_to(shown.response_url or ""))
    assert "bad-deploy-rollback" in json.dumps(listing[0]["blocks"])


async def test_reaction_edit_delete_and_unpin_keep_the_timeline_in_step(hashi: Hashi) -> None:
    room = await _declare(hashi, "declare SEV3 Cache misses")
    incident_id = await hashi.runtime.service.incident_for_channel(channel_id=room)
    message = hashi.standin.add_message(room, user=BOB, text="Hit ratio fell to 20%")
    reaction = {
        "type": "reaction_added",
        "user": CAROL,
        "reaction": "pushpin",
        "item_user": BOB,
        "item": {"type": "message", "channel": room, "ts": message["ts"]},
        "event_ts": "9.1",
    }
    await hashi.driver.event(reaction, event_id="EvR1")
    await hashi.driver.event(reaction, event_id="EvR1", retry=2)
    other = dict(reaction, reaction="thumbsup")
    await hashi.driver.event(other, event_id="EvR2")  # not the timeline emoji: ignored
    await hashi.settle()

    async def texts() -> list[str]:
        return [e.text for e in (await hashi.runtime.service.snapshot(incident_id=incident_id)).timeline]

    assert (await texts()).count("Hit ratio fell to 20%") == 1
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": room,
        "hidden": True,
        "ts": "9.2",
        "message": {"type": "message", "user": BOB, "text": "Hit ratio fell to 15%", "ts": message["ts"]},
        "previous_message": {
            "type": "message",
            "user": BOB,
            "text": "Hit ratio fell to 20%",
            "ts": message["ts"],
        },
        "event_ts": "9.2",
    }
    hashi.standin.channels[room].message(message["ts"])["text"] = "Hit ratio fell to 15%"  # edited in Slack
    await hashi.driver.event(edited)
    await hashi.settle()
    assert "Hit ratio fell to 15%" in await texts() and "Hit ratio fell to 20%" not in await texts()
    # The entry keeps what it said before the author's edit (the export's `previous`).
    snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
    (entry,) = [e for e in snap.timeline if e.text == "Hit ratio fell to 15%"]
    assert entry.edited_by == BOB and [v.text for v in entry.previous] == ["Hit ratio fell to 20%"]
    removed = dict(reaction, type="reaction_removed")
    await hashi.driver.event(removed)
    await hashi.settle()
    assert "Hit ratio fell to 15%" not in await texts()
    await hashi.driver.event(reaction, event_id="EvR3")  # marked again: back on the timeline
    await hashi.settle()
    assert (await texts()).count("Hit ratio fell to 15%") == 1
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": room,
        "hidden": True,
        "deleted_ts": message["ts"],
        "ts": "9.3",
        "event_ts": "9.3",
    }
    await hashi.driver.event(deleted)
    await hashi.settle()
    assert "Hit ratio fell to 15%" not in await texts()


async def test_taken_channel_name_gets_another(hashi: Hashi) -> None:
    hashi.standin.add_channel("C0TAKEN", "inc-1-checkout-errors")
    await hashi.driver.command("declare SEV3 Checkout errors", user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-checkout-errors-2"), what="another name")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    assert [c.response.get("error") for c in hashi.standin.calls_to("conversations.create")] == [
        "name_taken",
        None,
    ]


async def test_failed_set_up_is_reported_and_retry_finishes_it(
    hashi: Hashi, monkeypatch: pytest.MonkeyPatch
) -> None:
    shorten_retry_waits(monkeypatch)  # the same retries, without seconds of slack_sdk's backoff between them
    hashi.standin.fail_next("pins.add", status=500, times=5)  # more than the client's retries
    sent = await hashi.driver.command("declare SEV3 Login loop", user_id=ALICE, channel_id=GENERAL)
    reply = await hashi.eventually(
        lambda: hashi.standin.responses_to(sent.response_url or ""), within=15, what="reply"
    )
    # Alice's Slack is in Japanese, so she is told in Japanese.
    assert "Slack で次の処理ができませんでした: カードのピン留め" in reply[0]["text"]
    assert "/incident retry INC-1" in reply[0]["text"]
    room = hashi.channel_named("inc-1-")
    assert room and not hashi.standin.channels[room].pins
    hashi.standin.clear_faults()
    retried = await hashi.driver.command("retry INC-1", user_id=ALICE, channel_id=GENERAL)
    answer = await hashi.eventually(lambda: hashi.standin.responses_to(retried.response_url or ""))
    assert (
        "*INC-1* [SEV3] の準備ができました" in answer[0]["text"]
        and "できませんでした" not in answer[0]["text"]
    )
    assert hashi.standin.channels[room].pins
    assert len(hashi.standin.calls_to("conversations.create")) == 1
    assert len(hashi.standin.calls_to("chat.postMessage")) == len(
        {c.response.get("ts") for c in hashi.standin.calls_to("chat.postMessage")}
    )


async def test_resolve_anyway_keeps_a_summary_at_its_limit_whole(hashi: Hashi) -> None:
    room = await _declare(hashi, "declare SEV2 Queue stuck")
    summary = ("Consumer restarted after the broker failover; lag drained in 12 minutes. " * 40)[:2900]
    sent = await hashi.driver.command(f"resolve {summary}", user_id=BOB, channel_id=room)
    gate = await hashi.eventually(lambda: hashi.standin.responses_to(sent.response_url or ""), what="gate")
    gate_message = {"ts": "0", "blocks": gate[0]["blocks"]}
    await hashi.driver.click(
        user_id=BOB, channel_id=room, message=gate_message, action_id=Action.RESOLVE_ANYWAY
    )
    incident_id = await hashi.runtime.service.incident_for_channel(channel_id=room)
    await hashi.settle()
    snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
    resolved = [e for e in snap.timeline if e.kind == "resolved"]
    assert snap.status.value == "resolved" and len(resolved) == 1
    assert summary.strip() in resolved[0].text  # whole: it came back in the gate's input, not the button
