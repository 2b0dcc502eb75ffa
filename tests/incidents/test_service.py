"""The incident service on real stores (SQLite and PostgreSQL) with a recording Chat."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import SessionTransaction
from sqlmodel import col

from bot.incidents.deliveries import AlreadyDone, Delivery, working_on
from bot.incidents.errors import IncidentNotFound, InvalidInput, InvalidTransition
from bot.incidents.model import EventKind, Milestone, Status
from bot.incidents.playbooks import Playbook, PlaybookItem
from bot.incidents.ports import ChatMessage
from bot.incidents.service import IncidentConfig, IncidentService
from storage.inbox import Arrival, DeliveryLog
from storage.models import ScheduledReminder
from storage.repository import Store
from tests.fakes import FixedClock, RecordingChat

T0 = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
CADENCE = {"SEV1": 30, "SEV2": 60, "SEV3": 120}  # minutes between status updates
TRIAGE = Playbook(name="triage", title="Triage", items=(PlaybookItem(key="page", title="Page the owner"),))


async def test_declare_records_row_then_sets_up_room(service: IncidentService, chat: RecordingChat) -> None:
    setup = await service.declare(title="Checkout 500s", severity="sev2", actor="U1", services=["checkout"])
    snap = setup.incident
    assert setup.created and setup.missing == ()
    assert (snap.severity, snap.status, snap.services) == ("SEV2", Status.INVESTIGATING, ("checkout",))
    assert snap.channel_id is not None and snap.milestones.declared_at == T0
    steps = chat.steps()
    assert steps[0] == "create_room" and steps[-1] == "pin"
    assert {"invite", "set_topic", "post_card", "announce"} <= set(steps)
    assert chat.calls[0][1]["name"] == f"inc-{snap.id}-checkout-500s"
    # What a change returns leaves the timeline out (its effects need none of it); a read has it.
    assert snap.timeline == () and snap.status_updated_at == T0
    full = await service.snapshot(incident_id=snap.id)
    assert [e.kind for e in full.timeline] == [EventKind.DECLARED.value]


async def test_private_incident_is_never_announced(service: IncidentService, chat: RecordingChat) -> None:
    await service.declare(title="Leaked key", actor="U1", private=True)
    assert "announce" not in chat.steps()
    assert chat.calls[0][1]["private"] is True


async def test_same_request_key_declares_once(service: IncidentService) -> None:
    results = await asyncio.gather(
        *(service.declare(title="DB down", actor="U1", request_key="trigger-1") for _ in range(5))
    )
    ids = {r.incident.id for r in results}
    assert len(ids) == 1
    assert sum(r.created for r in results) == 1
    assert len(await service.list_incidents()) == 1


async def test_failed_slack_step_keeps_incident_and_can_be_completed(
    service: IncidentService, chat: RecordingChat
) -> None:
    chat.failing["post_card"] = 1
    setup = await service.declare(title="Queue backlog", actor="U1")
    assert setup.missing == ("card",)
    assert (await service.snapshot(incident_id=setup.incident.id)).id == setup.incident.id
    retry = await service.ensure_room(incident_id=setup.incident.id)
    assert retry.missing == ()
    assert chat.steps().count("create_room") == 1
    assert chat.steps().count("post_card") == 1


async def test_channel_failure_is_recorded_and_retried(service: IncidentService, chat: RecordingChat) -> None:
    chat.failing["create_room"] = 1
    setup = await service.declare(title="API latency", actor="U1")
    assert setup.missing == ("channel",) and setup.incident.channel_id is None
    retry = await service.ensure_room(incident_id=setup.incident.id)
    assert retry.missing == () and retry.incident.channel_id is not None


async def test_whole_lifecycle_with_backdated_times(service: IncidentService, clock: FixedClock) -> None:
    # Impact 13:40 JST, detected 13:50, declared 14:00, acked 14:03, mitigated 14:25, resolved 14:45.
    inc = (await service.declare(title="決済エラー", actor="U1", severity="SEV1")).incident
    await service.set_milestone(
        incident_id=inc.id, milestone=Milestone.IMPACT_STARTED, actor="U1", at=T0 - timedelta(minutes=20)
    )
    await service.set_milestone(
        incident_id=inc.id, milestone=Milestone.DETECTED, actor="U1", at=T0 - timedelta(minutes=10)
    )
    clock.advance(minutes=5)
    await service.acknowledge(incident_id=inc.id, actor="U2", at=T0 + timedelta(minutes=3))
    with pytest.raises(InvalidInput):
        await service.acknowledge(incident_id=inc.id, actor="U2")
    clock.advance(minutes=20)
    await service.set_status(incident_id=inc.id, status=Status.MONITORING, actor="U2", message="rolled back")
    await service.set_status(incident_id=inc.id, status=Status.IDENTIFIED, actor="U2", message="not fixed")
    clock.advance(minutes=20)
    snap = await service.resolve(
        incident_id=inc.id, actor="U2", summary="fixed", at=T0 + timedelta(minutes=45)
    )
    m = snap.milestones
    assert m.impact_started_at == T0 - timedelta(minutes=20)
    assert m.detected_at == T0 - timedelta(minutes=10)
    assert m.acknowledged_at == T0 + timedelta(minutes=3)
    assert m.mitigated_at == T0 + timedelta(minutes=25)  # the first move to monitoring, kept after going back
    assert m.resolved_at == T0 + timedelta(minutes=45)
    assert snap.status is Status.RESOLVED
    # The last status update counts when it was recorded (the two status moves, 25 minutes in); a note
    # added later is not one.
    await service.add_note(incident_id=inc.id, text="postmortem owner: U2", actor="U2")
    assert (await service.snapshot(incident_id=inc.id)).status_updated_at == T0 + timedelta(minutes=25)
    timeline = (await service.snapshot(incident_id=inc.id)).timeline
    times = [e.at for e in timeline]
    assert len(times) == 8 and times == sorted(times)
    assert all(e.recorded_at >= T0 for e in timeline)


async def test_reopen_clears_resolved_and_close_needs_resolved(
    service: IncidentService, clock: FixedClock
) -> None:
    inc = (await service.declare(title="Login loop", actor="U1")).incident
    with pytest.raises(InvalidTransition):
        await service.close(incident_id=inc.id, actor="U1")
    with pytest.raises(InvalidTransition):
        await service.reopen(incident_id=inc.id, actor="U1")
    await service.resolve(incident_id=inc.id, actor="U1")
    snap = await service.reopen(incident_id=inc.id, actor="U1")
    assert snap.status is Status.INVESTIGATING and snap.milestones.resolved_at is None
    clock.advance(hours=1)
    await service.resolve(incident_id=inc.id, actor="U1")
    closed = await service.close(incident_id=inc.id, actor="U1")
    assert closed.status is Status.CLOSED and closed.milestones.closed_at == clock.now()
    with pytest.raises(InvalidTransition):
        await service.set_severity(incident_id=inc.id, severity="SEV1", actor="U1")
    kinds = [e.kind for e in (await service.snapshot(incident_id=inc.id)).timeline]
    assert kinds.count("resolved") == 2 and "reopened" in kinds


async def test_severity_and_roles(service: IncidentService, chat: RecordingChat) -> None:
    inc = (await service.declare(title="Slow search", actor="U1", severity="SEV3")).incident
    snap = await service.set_severity(incident_id=inc.id, severity="sev1", actor="U1", reason="customers hit")
    assert snap.severity == "SEV1"
    assert [code for _, code in snap.severity_history] == ["SEV3", "SEV1"]
    with pytest.raises(InvalidInput):
        await service.set_severity(incident_id=inc.id, severity="SEV9", actor="U1")
    snap = await service.assign_role(incident_id=inc.id, role="lead", user_id="U7", actor="U1")
    assert snap.lead == "U7" and snap.milestones.acknowledged_at is not None
    # Naming the lead was the acknowledgement, and the timeline says so, once, before the lead's line.
    timeline = (await service.snapshot(incident_id=inc.id)).timeline
    marks = [(e.kind, e.actor, e.text) for e in timeline if e.kind in ("acknowledged", "lead")]
    assert marks == [
        ("acknowledged", "U1", "Acknowledged (by naming the lead <@U7>)"),
        ("lead", "U1", "Lead: <@U7>"),
    ]
    await service.assign_role(incident_id=inc.id, role="lead", user_id="U8", actor="U1")
    timeline = (await service.snapshot(incident_id=inc.id)).timeline
    assert [e.kind for e in timeline].count("acknowledged") == 1
    snap = await service.assign_role(incident_id=inc.id, role="lead", user_id="U7", actor="U1")
    snap = await service.assign_role(incident_id=inc.id, role="comms", user_id="U8", actor="U1")
    assert dict(snap.roles) == {"lead": "U7", "comms": "U8"}
    with pytest.raises(InvalidInput):
        await service.assign_role(incident_id=inc.id, role="wizard", user_id="U8", actor="U1")
    assert ("invite", {"channel_id": snap.channel_id, "user_ids": ["U8"]}) in chat.calls
    assert "post_change" in chat.steps() and "update_card" in chat.steps()


async def test_card_shows_the_latest_state_when_changes_race(
    service: IncidentService, chat: RecordingChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    inc = (await service.declare(title="Queue backlog", actor="U1")).incident
    before = len(chat.calls)
    await service.set_severity(incident_id=inc.id, severity="SEV1", actor="U1")
    # Alone, a change updates the card once: looking again finds nothing newer.
    assert [s for s, _ in chat.calls[before:]].count("update_card") == 1

    # An acknowledgement commits first, but its card update reaches Slack only after a status change
    # committed (a note is no change of state: it leaves the card alone).
    held, release = asyncio.Event(), asyncio.Event()
    recorded = RecordingChat.update_card

    async def slow_first_update(self: RecordingChat, *, incident: Any) -> None:
        if not held.is_set():
            held.set()
            await release.wait()
        await recorded(self, incident=incident)

    monkeypatch.setattr(RecordingChat, "update_card", slow_first_update)
    note = asyncio.create_task(service.acknowledge(incident_id=inc.id, actor="U2"))
    await held.wait()
    await service.set_status(incident_id=inc.id, status=Status.MONITORING, actor="U1")
    release.set()
    await note
    cards = [args for step, args in chat.calls if step == "update_card"]
    assert cards[-2]["status"] == Status.INVESTIGATING.value  # the acknowledgement's snapshot, shown late
    assert cards[-1]["status"] == Status.MONITORING.value  # and put right by its second look


async def test_a_change_made_during_the_room_set_up_reaches_the_card(
    service: IncidentService, chat: RecordingChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The card is being posted (from the declaration's snapshot) when a status change commits; that change
    # finds no card to update yet, so the set-up shows it once the card is there.
    posting, release = asyncio.Event(), asyncio.Event()
    recorded = RecordingChat.post_card

    async def slow_post(self: RecordingChat, *, incident: Any, look_first: bool = False) -> str:
        posting.set()
        await release.wait()
        return await recorded(self, incident=incident, look_first=look_first)

    monkeypatch.setattr(RecordingChat, "post_card", slow_post)
    declaring = asyncio.create_task(service.declare(title="DNS flapping", actor="U1"))
    await posting.wait()
    incident_id = (await service.list_incidents())[0].id
    await service.set_status(incident_id=incident_id, status=Status.IDENTIFIED, actor="U1")
    release.set()
    await declaring
    cards = [args for step, args in chat.calls if step in ("post_card", "update_card")]
    assert cards[-1]["status"] == Status.IDENTIFIED.value, cards


async def test_every_change_counts_once_in_the_revision(service: IncidentService) -> None:
    inc = (await service.declare(title="Cache stampede", actor="U1")).incident
    before = (await service.snapshot(incident_id=inc.id)).revision
    await asyncio.gather(
        *(
            service.assign_role(incident_id=inc.id, role="comms", user_id=f"U{n}", actor="U1")
            for n in range(10)
        )
    )
    await service.add_note(incident_id=inc.id, text="a note is not a change of state", actor="U2")
    assert (await service.snapshot(incident_id=inc.id)).revision == before + 10


async def test_unknown_incident(service: IncidentService) -> None:
    with pytest.raises(IncidentNotFound):
        await service.snapshot(incident_id=999)


async def test_concurrent_adds_of_one_slack_message_store_it_once(service: IncidentService) -> None:
    inc = (await service.declare(title="Cache stampede", actor="U1")).incident
    results = await asyncio.gather(
        *(
            service.add_note(
                incident_id=inc.id,
                text="pinned: cache cold",
                actor="U2",
                kind=EventKind.SLACK_MESSAGE,
                source_ref="1700000000.000100",
            )
            for _ in range(8)
        )
    )
    assert sum(results) == 1
    snap = await service.snapshot(incident_id=inc.id)
    assert [e.text for e in snap.timeline].count("pinned: cache cold") == 1


async def test_slack_message_edits_and_deletes_follow(service: IncidentService) -> None:
    inc = (await service.declare(title="Edge errors", actor="U1")).incident
    await service.add_note(
        incident_id=inc.id, text="first", actor="U2", kind=EventKind.SLACK_MESSAGE, source_ref="1.1"
    )
    assert await service.update_slack_message(incident_id=inc.id, source_ref="1.1", text="edited")
    assert [e.text for e in (await service.snapshot(incident_id=inc.id)).timeline][-1] == "edited"
    assert await service.update_slack_message(incident_id=inc.id, source_ref="1.1", text=None, deleted=True)
    assert "edited" not in [e.text for e in (await service.snapshot(incident_id=inc.id)).timeline]
    assert not await service.update_slack_message(incident_id=inc.id, source_ref="9.9", text="x")


async def test_a_pinned_or_marked_message_joins_its_rooms_timeline_once_and_follows_slack(
    service: IncidentService, chat: RecordingChat
) -> None:
    inc = (await service.declare(title="Cache cold", actor="U1")).incident
    room, ts, at = inc.channel_id or "", "1700000000.000100", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    pinned = ChatMessage(text="hit ratio 15%", author="U2")
    assert await service.capture_message(channel_id=room, ts=ts, at=at, message=pinned)
    chat.messages[(room, ts)] = pinned  # marked with the emoji: the event does not carry the message
    assert await service.capture_message(channel_id=room, ts=ts, at=at, message=None)
    entries = [e for e in (await service.snapshot(incident_id=inc.id)).timeline if e.text == "hit ratio 15%"]
    assert len(entries) == 1 and entries[0].actor == "U2" and entries[0].at == at
    assert entries[0].permalink and room in entries[0].permalink

    assert await service.follow_message(channel_id=room, ts=ts, text="hit ratio 12%")
    assert await service.follow_message(channel_id=room, ts=ts, deleted=True)
    assert "hit ratio 12%" not in [e.text for e in (await service.snapshot(incident_id=inc.id)).timeline]
    assert await service.capture_message(channel_id=room, ts=ts, at=at, message=pinned)  # pinned again
    assert "hit ratio 15%" in [e.text for e in (await service.snapshot(incident_id=inc.id)).timeline]

    # Outside any incident's room, or a message Slack no longer has: nothing is asked or stored.
    calls = len(chat.calls)
    assert not await service.capture_message(channel_id="C0GENERAL", ts=ts, at=at, message=None)
    assert not await service.follow_message(channel_id="C0GENERAL", ts=ts, deleted=True)
    assert len(chat.calls) == calls
    assert not await service.capture_message(channel_id=room, ts="1700000001.000100", at=at, message=None)


async def test_a_delivery_makes_its_change_once_however_often_it_runs(
    service: IncidentService, clock: FixedClock
) -> None:
    inc = (await service.declare(title="Disk full", actor="U1")).incident
    deliveries = DeliveryLog(service._store, owner="r1", lease=timedelta(minutes=1), now=clock.now)
    assert (await deliveries.record(Arrival(delivery_id="command:1", kind="command", body="{}")))[0]

    async def run() -> str:
        with working_on(Delivery(delivery_id="command:1", received_at=clock.now())):
            try:
                await service.add_note(incident_id=inc.id, text="rolled back", actor="U2")
            except AlreadyDone:
                return "already done"
            return "noted"

    # Two runs at once (two replicas), then a third (a restart): the note is stored once.
    outcomes = [*await asyncio.gather(run(), run()), await run()]
    assert sorted(outcomes) == ["already done", "already done", "noted"]
    notes = [e for e in (await service.snapshot(incident_id=inc.id)).timeline if e.text == "rolled back"]
    assert len(notes) == 1
    assert await deliveries.pending_count() == 0


async def test_a_change_that_rolls_back_after_claiming_its_showing_leaves_none_behind(
    service: IncidentService, chat: RecordingChat, clock: FixedClock
) -> None:
    # A note's transaction claims the showing of its line (bot.incidents.effects.Claim); when it then rolls
    # back (here: another run of its delivery finished first), neither its line nor a stuck showing remains.
    inc = (await service.declare(title="Queue stuck", actor="U1")).incident
    deliveries = DeliveryLog(service._store, owner="r1", lease=timedelta(minutes=1), now=clock.now)
    await deliveries.record(Arrival(delivery_id="command:3", kind="command", body="{}"))
    with working_on(Delivery(delivery_id="command:3", received_at=clock.now())):
        await service.add_note(incident_id=inc.id, text="first run", actor="U2")
    with working_on(Delivery(delivery_id="command:3", received_at=clock.now())), pytest.raises(AlreadyDone):
        await service.add_note(incident_id=inc.id, text="second run", actor="U2")
    await service.add_note(incident_id=inc.id, text="next note", actor="U3")
    await service.set_status(incident_id=inc.id, status=Status.IDENTIFIED, actor="U3")
    await asyncio.wait_for(service.effects.idle(), timeout=5)
    told = [args["text"] for step, args in chat.calls if step == "post_change"]
    assert told.count("first run") == 1 and "second run" not in told and told.count("next note") == 1
    assert ("update_card", {"incident_id": inc.id, "status": "identified"}) in chat.calls


async def test_a_note_whose_commit_answer_is_lost_still_tells_its_line(
    service: IncidentService, chat: RecordingChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The database committed, but its answer never came (a connection lost after COMMIT, a cancelled wait):
    # the note's transaction had claimed its line, which the commit marked told, so the line is shown anyway.
    inc = (await service.declare(title="Lost answer", actor="U1")).incident
    commit = SessionTransaction.commit

    def committed_then_lost(self: SessionTransaction, _to_root: bool = False) -> None:
        commit(self, _to_root)
        raise ConnectionResetError("the answer to COMMIT was lost")

    monkeypatch.setattr(SessionTransaction, "commit", committed_then_lost)
    with pytest.raises(ConnectionResetError):
        await service.add_note(incident_id=inc.id, text="committed, answer lost", actor="U2")
    monkeypatch.undo()
    await asyncio.wait_for(service.effects.idle(), timeout=5)
    told = [args["text"] for step, args in chat.calls if step == "post_change"]
    assert told.count("committed, answer lost") == 1
    notes = [e.text for e in (await service.snapshot(incident_id=inc.id)).timeline]
    assert notes.count("committed, answer lost") == 1


async def test_a_failed_change_leaves_its_delivery_pending(
    service: IncidentService, clock: FixedClock
) -> None:
    deliveries = DeliveryLog(service._store, owner="r1", lease=timedelta(minutes=1), now=clock.now)
    await deliveries.record(Arrival(delivery_id="command:2", kind="command", body="{}"))
    with (
        working_on(Delivery(delivery_id="command:2", received_at=clock.now())),
        pytest.raises(IncidentNotFound),
    ):
        await service.add_note(incident_id=999, text="nowhere", actor="U2")
    assert await deliveries.pending_count() == 1


async def test_followups_and_participants(service: IncidentService) -> None:
    inc = (await service.declare(title="Disk full", actor="U1")).incident
    added = await service.add_followup(incident_id=inc.id, text="Alert at 80% disk", actor="U1", owner="U9")
    snap = added.incident
    assert snap.followups[0].text == "Alert at 80% disk" and snap.followups[0].owner == "U9"
    assert await service.record_participant(channel_id=snap.channel_id or "", user_id="U5")
    assert not await service.record_participant(channel_id=snap.channel_id or "", user_id="U5")
    assert not await service.record_participant(channel_id="CNOTINCIDENT", user_id="U5")
    assert "U5" in (await service.snapshot(incident_id=inc.id)).participants


async def test_the_service_refuses_outsiders_of_a_private_incident_whoever_calls_it(
    service: IncidentService,
) -> None:
    """A listener that forgets to check cannot leak a private incident: every change checks who acts."""
    service.config = replace(service.config, playbooks=(TRIAGE,))
    setup = await service.declare(title="Leaked key", actor="U1", private=True, severity="SEV1")
    incident_id = setup.incident.id
    await service.assign_role(incident_id=incident_id, role="comms", user_id="U2", actor="U1")
    before = await service.snapshot(incident_id=incident_id)
    changes = {
        "acknowledge": service.acknowledge(incident_id=incident_id, actor="U9"),
        "add_note": service.add_note(incident_id=incident_id, text="peek", actor="U9"),
        "tick_items": service.tick_items(
            incident_id=incident_id, playbook="triage", first=0, count=10, done={"page"}, actor="U9"
        ),
        "set_severity": service.set_severity(incident_id=incident_id, severity="SEV2", actor="U9"),
        "resolve": service.resolve(incident_id=incident_id, actor="U9"),
        "add_followup": service.add_followup(incident_id=incident_id, text="x", actor="U9"),
    }
    for name, change in changes.items():
        with pytest.raises(IncidentNotFound) as refused:
            await change
        assert f"INC-{incident_id}" in str(refused.value), name
    after = await service.snapshot(incident_id=incident_id)
    assert after.timeline == before.timeline and after.revision == before.revision
    assert "U9" not in after.people
    # The people in it may: the role holder notes and ticks, the declarer acknowledges.
    assert await service.add_note(incident_id=incident_id, text="seen", actor="U2")
    await service.tick_items(
        incident_id=incident_id, playbook="triage", first=0, count=10, done={"page"}, actor="U2"
    )
    await service.acknowledge(incident_id=incident_id, actor="U1")
    final = await service.snapshot(incident_id=incident_id)
    assert final.milestones.acknowledged_at is not None
    assert [i.done for i in final.checklists if i.key == "page"] == [True]


async def _forget_a_reminder_id(store: Store, incident_id: int) -> str:
    """As after a crash between Slack's scheduling and the record of it: the row lost its Slack id."""
    async with store.transaction() as repo:
        row = (await repo.reminders(incident_id=incident_id))[0]
        lost = str(row.scheduled_message_id)
        forget = update(ScheduledReminder).where(col(ScheduledReminder.id) == row.id)
        await repo.session.execute(forget.values(scheduled_message_id=None))
    return lost


async def test_a_reminder_slack_holds_but_hashi_never_recorded_is_cancelled_when_dropped(
    service: IncidentService, chat: RecordingChat, store: Store
) -> None:
    service.config = replace(service.config, status_update_minutes=CADENCE)
    setup = await service.declare(title="DB down", actor="U1", severity="SEV1")
    incident_id = setup.incident.id
    assert chat.scheduled  # the status update and its escalation wait in Slack
    lost = await _forget_a_reminder_id(store, incident_id)
    await service.resolve(incident_id=incident_id, actor="U1")
    # Resolving drops every reminder: the one without its id is found in Slack's list and cancelled too.
    assert chat.scheduled == {}
    assert ("cancel_reminder", {"channel_id": setup.incident.channel_id, "scheduled_message_id": lost}) in (
        chat.calls
    )


async def test_the_repair_pass_adopts_a_reminder_whose_id_was_never_recorded(
    service: IncidentService, chat: RecordingChat, store: Store
) -> None:
    service.config = replace(service.config, status_update_minutes=CADENCE)
    setup = await service.declare(title="DB down", actor="U1", severity="SEV1")
    incident_id = setup.incident.id
    waiting = dict(chat.scheduled)
    lost = await _forget_a_reminder_id(store, incident_id)
    await service.refresh_due_reminders()
    async with store.transaction() as repo:
        recorded = {r.scheduled_message_id for r in await repo.reminders(incident_id=incident_id)}
    assert lost in recorded and chat.scheduled == waiting  # adopted, nothing cancelled or doubled
    # An unknown message in the channel at no reminder's time is Hashi's no longer: cancelled.
    channel = str(setup.incident.channel_id)
    chat.scheduled["QSTRAY"] = (channel, T0 + timedelta(hours=5))
    await _forget_a_reminder_id(store, incident_id)
    await service.refresh_due_reminders()
    assert "QSTRAY" not in chat.scheduled and set(chat.scheduled) == set(waiting)


async def test_a_restarted_replica_resumes_its_own_interrupted_set_up_at_once(
    store: Store, chat: RecordingChat, clock: FixedClock
) -> None:
    def replica(name: str) -> IncidentService:
        config = IncidentConfig(replica=name, status_update_minutes=CADENCE)
        return IncidentService(store=store, chat=chat, clock=clock, config=config)

    chat.failing["create_room"] = 1
    first = replica("r1")
    setup = await first.declare(title="Queue backlog", actor="U1")
    incident_id = setup.incident.id
    async with store.transaction() as repo:  # as a kill -9 during the set-up leaves it: the lease held
        row = await repo.incident(incident_id=incident_id)
        assert row is not None
        row.setup_claimed_at, row.setup_claimed_by = clock.now(), "r1"
        repo.session.add(row)
    clock.advance(seconds=5)
    restarted = clock.now()
    # Another replica waits for the lease to run out; r1, started again, takes its own back at once.
    (other,) = await replica("r2").repair_rooms(mine_since=restarted)
    assert other.missing == ("in_progress",)
    clock.advance(seconds=1)
    (again,) = await replica("r1").repair_rooms(mine_since=restarted)
    assert again.missing == () and again.incident.channel_id is not None
    assert "schedule_reminder" in chat.steps()  # the room set up by repair gets its reminders
