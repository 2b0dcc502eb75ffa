"""Fault injection: each Web API call of a declaration fails in turn (429, ratelimited, 5xx, timeout),
and every declared incident still ends complete, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from standin.harness import ALICE, ANNOUNCE, GENERAL, Hashi, running_hashi
from standin.spec import ApiSpec
from tests.e2e.slack_retries import shorten_retry_waits

# Every Web API method a declaration calls, in the order it first calls them.
DECLARATION_METHODS = (
    "users.info",
    "conversations.create",
    "conversations.invite",
    "conversations.setTopic",
    "conversations.setPurpose",
    "chat.postMessage",
    "pins.add",
    "chat.scheduleMessage",
)
FAULTS: dict[str, dict[str, Any]] = {
    "429": {"status": 429, "retry_after": 0},
    "ratelimited": {"status": 200, "error": "ratelimited"},
    "500": {"status": 500},
    "503": {"status": 503},
    "timeout": {"status": 200, "hang": 0.8},  # the call still takes effect after the client gave up
    # Faults that outlast the client's retries (4 for 429, 3 for 5xx, 2 for a timeout of a safe call):
    # the step fails, the declarer is told, and `/incident retry` or the repair pass finishes the room.
    "429x6": {"status": 429, "retry_after": 0, "times": 6},
    "500x2": {"status": 500, "times": 2},
    "500x5": {"status": 500, "times": 5},
    "lost timeout": {"status": 500, "hang": 0.8},  # the client gave up and Slack did nothing
}
INJECTED: dict[str, int] = {}
SLACK_TIMEOUT = 0.4  # the client's, so a hung call times out quickly


@pytest.fixture(params=sorted(FAULTS))
async def faulty(
    request: pytest.FixtureRequest, tmp_path: Path, slack_spec: ApiSpec, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Hashi]:
    """Hashi with a short Slack timeout, so a hung call times out quickly, and short waits between retries
    (tests/e2e/slack_retries.py: 0.02·2ⁿ s instead of 0.5·2ⁿ s plus up to 1 s; over the matrix slack_sdk's
    waits were most of its time). A hung call's first wait stays longer than its hang less the client's
    timeout, so that, as before, a timed-out call's retry reaches Slack after the call it repeats took
    effect there."""
    hang = float(FAULTS[request.param].get("hang", 0.0))
    shorten_retry_waits(monkeypatch, backoff=max(0.02, hang - SLACK_TIMEOUT + 0.1))
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'faults.db'}", spec=slack_spec, slack_timeout=SLACK_TIMEOUT
    ) as hashi:
        hashi.fault = request.param  # type: ignore[attr-defined]
        yield hashi
        assert hashi.standin.rejections == []


async def _complete_once(hashi: Hashi, number: int) -> None:
    """One channel for incident `number`, the declarer in it, one card pinned, one announcement, one
    checklist message, its reminders waiting in Slack exactly as recorded, its declaration on the timeline."""
    rooms = [c for c in hashi.standin.channels.values() if c.name.startswith(f"inc-{number}-")]
    assert len(rooms) == 1, [c.name for c in rooms]
    room = rooms[0]
    assert ALICE in room.members
    cards = [m for m in room.messages if str(m.get("text", "")).startswith(f"INC-{number} [")]
    assert len(cards) == 1 and room.pins == [cards[0]["ts"]], (len(cards), room.pins)
    announced = [
        m for m in hashi.standin.channels[ANNOUNCE].messages if f"INC-{number} [" in m.get("text", "")
    ]
    assert len(announced) == 1
    snap = await hashi.runtime.service.snapshot(incident_id=number)
    checklists = [m for m in room.messages if m.get("text") == f"Checklists of INC-{number}"]
    assert len(checklists) == (1 if snap.checklists else 0), len(checklists)
    assert snap.checklist_ts == (checklists[0]["ts"] if checklists else None)
    async with hashi.runtime.store.transaction() as repo:
        recorded = {r.scheduled_message_id for r in await repo.reminders(incident_id=number)}
        incomplete = [row.id for row in await repo.incidents_needing_setup()]
    waiting = {m.id for m in hashi.standin.scheduled.values() if m.channel_id == room.id}
    assert recorded == waiting and len(waiting) >= 1, (recorded, waiting)
    assert [e.kind for e in snap.timeline][:1] == ["declared"] and number not in incomplete
    # Every event once: the declaration and each playbook it started, nothing doubled by a retry or repair.
    started = {item.playbook for item in snap.checklists}
    events = [(e.kind, e.text) for e in snap.timeline]
    assert len(events) == len(set(events)) == 1 + len(started), events


@pytest.mark.slow
async def test_every_declaration_ends_complete_once(faulty: Hashi) -> None:
    hashi, fault = faulty, faulty.fault  # type: ignore[attr-defined]
    for number, method in enumerate(DECLARATION_METHODS, start=1):
        hashi.standin.fail_next(method, **FAULTS[fault])
        INJECTED[fault] = INJECTED.get(fault, 0) + 1
        sent = await hashi.driver.command(
            f"declare SEV3 Fault {fault} on {method}", user_id=ALICE, channel_id=GENERAL
        )
        replies = await hashi.eventually(
            lambda s=sent: hashi.standin.responses_to(s.response_url or ""), within=15, what=f"{method} reply"
        )
        await hashi.settle(quiet=0.3)
        reply = replies[0]["text"]
        assert f"*INC-{number}*" in reply, reply  # the user always hears what happened
        if "/incident retry" in reply:  # a step failed after retries: the retry path finishes it
            assert f"/incident retry INC-{number}" in reply
            again = await hashi.driver.command(f"retry INC-{number}", user_id=ALICE, channel_id=GENERAL)
            answer = await hashi.eventually(lambda s=again: hashi.standin.responses_to(s.response_url or ""))
            assert "could not" not in answer[0]["text"], answer[0]["text"]
            await hashi.settle(quiet=0.3)
        # What `hashi doctor --repair` and the repair loop run; a complete incident is left alone.
        for setup in await hashi.runtime.service.repair_rooms():
            assert setup.missing == (), setup.missing
        await hashi.runtime.service.refresh_due_reminders()
        await hashi.settle(quiet=0.3)
        await _complete_once(hashi, number)
        if fault == "timeout" and method == "conversations.create":
            # the timed-out create took effect; the retry found the bot's own channel instead of making `-2`
            assert hashi.standin.calls_to("conversations.list")
    incidents = await hashi.runtime.service.list_incidents(open_only=False)
    assert len(incidents) == len(DECLARATION_METHODS)
