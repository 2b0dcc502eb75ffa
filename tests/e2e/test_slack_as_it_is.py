"""Slack as it really is (issue 17): request bodies, long answers, channel names and events as Slack sends
them, through signed requests to the real app."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from slack_sdk.models.blocks import Block as SdkBlock

from bot.settings import ServiceConfig, TeamConfig
from bot.slack.ids import Action, Block, Field
from standin.driver import input_value
from standin.harness import ALICE, BOB, GENERAL, Hashi, running_hashi
from standin.spec import ApiSpec

SHIPPED_PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


async def _declare(hashi: Hashi, text: str = "declare SEV2 Checkout errors") -> str:
    await hashi.driver.command(text, user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-"), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()
    return str(room)


# A form body that holds the word "payload" (Bolt's parse_body looks for a `payload=` field then)


@pytest.mark.parametrize(
    ("field", "value"),
    [("text", "note payload size doubled"), ("channel_name", "payload-team"), ("team_domain", "payloadco")],
)
async def test_a_command_holding_the_word_payload_is_understood(hashi: Hashi, field: str, value: str) -> None:
    room = await _declare(hashi)
    fields = hashi.driver.command_body("note payload size doubled", user_id=ALICE, channel_id=room)
    fields[field] = value
    sent = await hashi.driver.post(urlencode(fields), "application/x-www-form-urlencoded")
    assert sent.status == 200, sent
    await hashi.settle()
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert any("payload size doubled" in entry.text for entry in snap.timeline)


async def test_a_signature_over_another_body_still_fails_when_it_holds_payload(hashi: Hashi) -> None:
    room = await _declare(hashi)
    fields = urlencode(hashi.driver.command_body("note payload x", user_id=ALICE, channel_id=room))
    sent = await hashi.driver.post(fields, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    assert sent.status == 401


# A long playbook: 50 required items of 150 characters, each one `hashi playbooks check` passes


def long_title(n: int) -> str:
    """An item title at the playbook limit (150), with characters escaping makes longer."""
    head = f"Item {n:02d}: check <logs> & <dashboards> & <alerts> "
    return (head + "x" * 150)[:150]


@pytest.fixture
def long_playbooks(tmp_path: Path) -> Path:
    """A folder with one playbook that applies to every incident: 50 required items at the title limit."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    items = [{"key": f"item-{n}", "title": long_title(n), "required": True} for n in range(50)]
    playbook = {"name": "long", "title": "A long checklist", "items": items}
    (folder / "long.yaml").write_text(yaml.safe_dump(playbook, allow_unicode=True), encoding="utf-8")
    shutil.copy(SHIPPED_PLAYBOOKS / "hashi-playbook.schema.json", folder)
    return folder


@pytest.fixture
async def long_hashi(tmp_path: Path, slack_spec: ApiSpec, long_playbooks: Path) -> AsyncIterator[Hashi]:
    """Hashi on SQLite with the long playbook."""
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'hashi.db'}", spec=slack_spec, playbooks_dir=str(long_playbooks)
    ) as hashi:
        yield hashi
        assert hashi.standin.rejections == []


def test_the_long_playbook_passes_the_check(long_playbooks: Path) -> None:
    from bot.incidents.playbooks import load_playbooks

    playbooks, problems = load_playbooks(long_playbooks, severities=["SEV1", "SEV2", "SEV3"], roles=["lead"])
    assert problems == [] and len(playbooks[0].items) == 50


def _gate_texts(blocks: list[dict[str, Any]]) -> str:
    for block in blocks:
        SdkBlock.parse(block).validate_json()  # type: ignore[union-attr]
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert len(blocks) <= 50
    return "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")


async def test_the_resolve_gate_lists_every_required_item_and_can_be_overridden(long_hashi: Hashi) -> None:
    hashi = long_hashi
    room = await _declare(hashi)
    sent = await hashi.driver.command("resolve Fixed", user_id=BOB, channel_id=room)
    answer = await hashi.eventually(lambda: hashi.standin.responses_to(sent.response_url or ""), what="gate")
    texts = _gate_texts(answer[0]["blocks"])
    assert all(f"Item {n:02d}:" in texts for n in range(50)), texts
    assert "&lt;logs&gt; &amp;" in texts
    await hashi.driver.click(
        user_id=BOB, channel_id=room, message={"ts": "0", **answer[0]}, action_id=Action.RESOLVE_ANYWAY
    )
    await hashi.settle()
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert snap.status.value == "resolved"


async def test_the_resolve_modal_answers_with_the_long_gate(long_hashi: Hashi) -> None:
    hashi = long_hashi
    room = await _declare(hashi)
    await hashi.driver.click(
        user_id=ALICE, channel_id=room, message=hashi.card(room), action_id=Action.RESOLVE
    )
    view = (await hashi.eventually(lambda: hashi.standin.calls_to("views.open"), what="modal"))[-1]
    await hashi.driver.submit(
        user_id=ALICE,
        view=view.response["view"],
        values={Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value("Fixed")}},
    )
    gate = await hashi.eventually(
        lambda: [m for m in hashi.standin.ephemeral.get(ALICE, []) if Action.RESOLVE_ANYWAY in json.dumps(m)],
        what="the gate confirmation",
    )
    assert "Item 49:" in _gate_texts(gate[-1]["blocks"])


# Long answers stay whole: split over sections and messages, never cut


SERVICES = [f"svc{n:02d}" for n in range(25)]


@pytest.fixture
async def many_services(tmp_path: Path, slack_spec: ApiSpec) -> AsyncIterator[Hashi]:
    """Hashi with 25 services that have an SLO."""
    team = TeamConfig(services={name: ServiceConfig(slo=99.9) for name in SERVICES})
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'hashi.db'}", spec=slack_spec, team=team
    ) as hashi:
        yield hashi
        assert hashi.standin.rejections == []


def _sections_read_alone(bodies: list[dict[str, Any]]) -> str:
    """Every section of the answers, checked against Block Kit's limits; a code block never spans two."""
    texts = []
    for body in bodies:
        assert len(body["blocks"]) <= 50
        for block in body["blocks"]:
            SdkBlock.parse(block).validate_json()  # type: ignore[union-attr]
            text = block["text"]["text"]
            assert len(text) <= 3000 and text.count("```") % 2 == 0, text
            texts.append(text)
    return "\n".join(texts)


async def test_stats_over_many_services_come_whole(many_services: Hashi) -> None:
    hashi = many_services
    for n in range(3):
        await hashi.runtime.service.declare(title=f"Outage {n}", actor=ALICE, services=SERVICES)
    await hashi.settle()
    sent = await hashi.driver.command("stats 30d service:svc00", user_id=BOB, channel_id=GENERAL)
    await hashi.settle()
    bodies = hashi.standin.responses_to(sent.response_url or "")
    shown = _sections_read_alone(bodies)
    assert len(shown) > 3000
    assert "Services with an SLO" in shown and "Data quality" in shown
    assert all(f"svc{n:02d}" in shown for n in range(25))
    assert all("Data quality" in str(b.get("text")) for b in bodies[-1:])  # the fallback text is whole too


# An edit as bolt-python's own fixture has it: the ts only in previous_message


async def test_an_edit_without_message_ts_updates_the_timeline(hashi: Hashi) -> None:
    room = await _declare(hashi)
    message = hashi.standin.add_message(room, user=BOB, text="Hit ratio fell to 20%")
    mark = {
        "type": "reaction_added",
        "user": ALICE,
        "reaction": "pushpin",
        "item_user": BOB,
        "item": {"type": "message", "channel": room, "ts": message["ts"]},
        "event_ts": "9.1",
    }
    await hashi.driver.event(mark)
    await hashi.settle()
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "message": {"type": "message", "text": "Hit ratio fell to 15%", "user": BOB, "edited": {"user": BOB}},
        "channel": room,
        "previous_message": {
            "type": "message",
            "text": "Hit ratio fell to 20%",
            "user": BOB,
            "ts": message["ts"],
        },
        "event_ts": "9.2",
        "ts": "9.2",
        "channel_type": "channel",
    }
    hashi.standin.channels[room].message(message["ts"])["text"] = "Hit ratio fell to 15%"
    await hashi.driver.event(edited)
    await hashi.settle()
    texts = [e.text for e in (await hashi.runtime.service.snapshot(incident_id=1)).timeline]
    assert "Hit ratio fell to 15%" in texts and "Hit ratio fell to 20%" not in texts


# Channel names Slack refuses


@pytest.mark.parametrize("refusal", ["invalid_name_specials", "invalid_name", "invalid_name_maxlength"])
async def test_a_refused_channel_name_falls_back_to_ascii(hashi: Hashi, refusal: str) -> None:
    hashi.standin.fail_next("conversations.create", status=200, error=refusal)
    await hashi.driver.command("declare SEV2 決済APIのエラー率上昇", user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1"), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    assert hashi.standin.channels[room].name == "inc-1-api"


async def test_a_name_refused_twice_falls_back_to_the_id(hashi: Hashi) -> None:
    hashi.standin.fail_next("conversations.create", status=200, error="invalid_name_specials", times=2)
    await hashi.driver.command("declare SEV2 決済APIのエラー", user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1"), what="the incident channel")
    assert hashi.standin.channels[room].name == "inc-1"


async def test_slack_keeps_a_japanese_channel_name(hashi: Hashi) -> None:
    await hashi.driver.command("declare SEV2 決済APIのエラー率上昇", user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1"), what="the incident channel")
    assert hashi.standin.channels[room].name == "inc-1-決済apiのエラー率上昇"
