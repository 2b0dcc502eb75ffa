"""Types, custom fields, services and invites through signed Slack requests to the real app, configured by a
hashi.toml as a team writes it."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import TeamConfig
from bot.slack.blocks.modals import field_block
from bot.slack.ids import Action, Block, Field
from standin.driver import checkboxes_value, input_value, select_value, user_value
from standin.harness import ALICE, BOB, CAROL, GENERAL, MALLORY, Hashi, running_hashi
from standin.spec import ApiSpec

CONFIG = """
types = ["default", "security", "ja"]

[fields.region]
kind = "select"
choices = ["eu", "us"]
required = "resolve"
label = { en = "Region", ja = "リージョン" }

[fields.customers]
kind = "number"
label = { en = "Customers affected", ja = "影響を受けた顧客数" }

[fields.owner]
kind = "user"

[services.checkout]
slo = 99.9
responders = ["S0SRE", "U0CAROL"]

[invites]
SEV1 = ["U0BOB"]
"""
SRE = ("S0SRE", "sre", [MALLORY])


@pytest.fixture
async def shaped(tmp_path: Path, slack_spec: ApiSpec) -> AsyncIterator[Hashi]:
    team = TeamConfig.model_validate(tomllib.loads(CONFIG))
    url = f"sqlite:///{tmp_path / 'hashi.db'}"
    async with running_hashi(database_url=url, spec=slack_spec, team=team, timezone="Asia/Tokyo") as hashi:
        hashi.standin.add_usergroup(*SRE)
        yield hashi
        assert hashi.standin.rejections == [], "a Web API call broke Slack's published spec"


async def _room(hashi: Hashi, prefix: str) -> str:
    room = await hashi.eventually(lambda: hashi.channel_named(prefix), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()
    return str(room)


def _invited(hashi: Hashi, room: str) -> list[set[str]]:
    calls = [c for c in hashi.standin.calls_to("conversations.invite") if c.args.get("channel") == room]
    return [set(str(c.args["users"]).split(",")) for c in calls]


def _card_text(hashi: Hashi, room: str) -> str:
    return str(hashi.card(room)["blocks"])


async def _say(hashi: Hashi, text: str, *, user: str, channel: str) -> list[str]:
    """Types a command; returns what the user was told back (ephemeral)."""
    sent = await hashi.driver.command(text, user_id=user, channel_id=channel)
    assert sent.status == 200
    await hashi.settle()
    return hashi.ephemeral_texts(sent.response_url)


async def test_a_typed_declaration_starts_its_playbooks_and_invites_in_one_call(shaped: Hashi) -> None:
    await _say(shaped, "declare SEV1 type:ja 決済エラー", user=ALICE, channel=GENERAL)
    room = await _room(shaped, "inc-1-")
    snap = await shaped.runtime.service.snapshot(incident_id=1)
    assert snap.incident_type == "ja"
    assert "sev-ja" in {item.playbook for item in snap.checklists}  # the shipped playbook, as it promises
    # The declarer and the SEV1 list join in the one invite a declaration makes.
    assert _invited(shaped, room) == [{ALICE, BOB}]
    assert "ja" in _card_text(shaped, room)


async def test_services_fields_and_type_change_from_slack(shaped: Hashi) -> None:
    await _say(shaped, "declare SEV2 Checkout slow", user=ALICE, channel=GENERAL)
    room = await _room(shaped, "inc-1-")
    assert _invited(shaped, room) == [{ALICE}]
    assert shaped.standin.calls_to("usergroups.users.list") == []

    assert await _say(shaped, "services checkout, search", user=ALICE, channel=room) == []
    # The checkout responders: the user group expanded, and the user named, in one more invite.
    assert _invited(shaped, room)[1:] == [{MALLORY, CAROL}]
    assert await _say(shaped, "services -search +Payments", user=ALICE, channel=room) == []
    assert await _say(shaped, "set customers 1200", user=ALICE, channel=room) == []
    assert await _say(shaped, "set owner <@U0BOB|bob>", user=ALICE, channel=room) == []
    assert await _say(shaped, "type security", user=ALICE, channel=room) == []

    snap = await shaped.runtime.service.snapshot(incident_id=1)
    assert snap.services == ("checkout", "Payments") and snap.incident_type == "security"
    assert snap.fields == {"customers": 1200, "owner": BOB}
    changes = [e.text for e in snap.timeline if e.kind in ("services", "field", "type")]
    assert changes == [
        "Services: checkout, search",
        "Services: checkout, Payments",
        "customers: 1200",
        "owner: <@U0BOB>",
        "Type default → security",
    ]
    card = _card_text(shaped, room)
    assert "Customers affected" in card and "1200" in card and "security" in card
    # The channel is told each change in a line.
    told = " ".join(str(m.get("text", "")) for m in shaped.messages(room))
    assert "Services: checkout, Payments" in told and "Type default → security" in told


async def test_bad_input_is_refused_with_the_right_form_and_changes_nothing(shaped: Hashi) -> None:
    await _say(shaped, "declare SEV2 Checkout slow", user=ALICE, channel=GENERAL)
    room = await _room(shaped, "inc-1-")
    before = await shaped.runtime.service.snapshot(incident_id=1)
    cases = {
        "type nope": "Unknown incident type `nope`. Use one of: default, security, ja",
        "set colour red": "Unknown field `colour`. Configured fields: region, customers, owner",
        "set region mars": "`mars` is not a choice of `region`. Choose one of: eu, us.",
        "set customers many": "`customers` takes a number",
        "set owner bob": "`owner` takes a person",
        "set region": "Name the field and its value",
        "services": "Which services?",
        "services checkout": None,  # fine: then the same again is refused
    }
    for text, expected in cases.items():
        told = await _say(shaped, text, user=BOB, channel=room)
        if expected is None:
            assert told == []
            continue
        assert len(told) == 1 and expected in told[0], (text, told)
    told = await _say(shaped, "services checkout", user=BOB, channel=room)
    assert "already has those services" in told[0]
    told = await _say(shaped, "declare type:nope Broken", user=BOB, channel=GENERAL)
    assert "Unknown incident type `nope`" in told[0]
    # In Japanese for Alice (ja-JP), with the form escaped for mrkdwn.
    told = await _say(shaped, "set region mars", user=ALICE, channel=room)
    assert "`mars` は `region` の選択肢にありません" in told[0]
    told = await _say(shaped, "type nope", user=ALICE, channel=room)
    assert "`/incident type &lt;name&gt;`" in told[0]
    after = await shaped.runtime.service.snapshot(incident_id=1)
    assert (after.incident_type, dict(after.fields)) == (before.incident_type, {})
    assert [e.kind for e in after.timeline].count("services") == 1
    assert len(await shaped.runtime.service.list_incidents()) == 1


async def test_an_outsider_of_a_private_incident_learns_nothing(shaped: Hashi) -> None:
    modal = await _opened(shaped, lambda: shaped.driver.command("", user_id=ALICE, channel_id=GENERAL))
    labels = {b["block_id"]: b["label"]["text"] for b in modal["blocks"]}
    assert (labels[Block.TYPE], labels[field_block("region")]) == (
        "種別",
        "リージョン",
    )  # Alice reads Japanese
    values = _declare_values("Leaked key", private=True)
    assert (await shaped.driver.submit(user_id=ALICE, view=modal, values=values)).body == ""
    await _room(shaped, "inc-1-")
    for text in ("INC-1 set customers 3", "INC-1 type security", "INC-1 services +checkout"):
        told = await _say(shaped, text, user=MALLORY, channel=GENERAL)
        assert "There is no incident INC-1 you can see" in told[0], told
    snap = await shaped.runtime.service.snapshot(incident_id=1)
    assert (snap.incident_type, dict(snap.fields), snap.services) == ("default", {}, ())


async def _opened(hashi: Hashi, send: Any) -> dict[str, Any]:
    before = len(hashi.standin.calls_to("views.open"))
    await send()
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open")[before:], what="the modal")
    return dict(opened[0].response["view"])


def _declare_values(
    title: str, *, private: bool = False, more: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    return {
        Block.TITLE: {Field.TITLE: input_value(title)},
        Block.SEVERITY: {Field.SEVERITY: select_value("SEV3")},  # no playbook gates its resolution
        Block.PRIVATE: {Field.PRIVATE: checkboxes_value(["private"] if private else [])},
        **(more or {}),
    }


async def test_the_modals_ask_for_the_type_and_fields_and_resolve_needs_the_required_ones(
    shaped: Hashi,
) -> None:
    modal = await _opened(shaped, lambda: shaped.driver.command("", user_id=BOB, channel_id=GENERAL))
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert [o["value"] for o in blocks[Block.TYPE]["element"]["options"]] == ["default", "security", "ja"]
    assert blocks[field_block("region")]["optional"] is True  # required at resolve, not to declare
    assert blocks[field_block("owner")]["element"]["type"] == "users_select"

    bad = _declare_values(
        "Queue stuck",
        more={
            Block.TYPE: {Field.TYPE: select_value("nope")},
            field_block("customers"): {Field.CUSTOM: input_value("lots")},
        },
    )
    answer = (await shaped.driver.submit(user_id=BOB, view=modal, values=bad)).json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {Block.TYPE, field_block("customers")}
    assert await shaped.runtime.service.list_incidents() == []

    good = _declare_values(
        "Queue stuck",
        more={
            Block.TYPE: {Field.TYPE: select_value("security")},
            field_block("customers"): {Field.CUSTOM: input_value("7")},
            field_block("owner"): {Field.CUSTOM: user_value(CAROL)},
        },
    )
    assert (await shaped.driver.submit(user_id=BOB, view=modal, values=good)).body == ""
    room = await _room(shaped, "inc-1-")
    snap = await shaped.runtime.service.snapshot(incident_id=1)
    assert (snap.incident_type, dict(snap.fields)) == ("security", {"customers": 7, "owner": CAROL})

    told = await _say(shaped, "resolve", user=BOB, channel=room)
    assert "required to resolve: region" in told[0]
    assert (await shaped.runtime.service.snapshot(incident_id=1)).milestones.resolved_at is None

    card = shaped.card(room)
    resolve = await _opened(
        shaped,
        lambda: shaped.driver.click(user_id=BOB, channel_id=room, message=card, action_id=Action.RESOLVE),
    )
    fields = {
        b["block_id"]: b for b in resolve["blocks"] if b.get("block_id", "").startswith(Block.CUSTOM_FIELD)
    }
    assert fields[field_block("region")]["optional"] is False
    assert fields[field_block("customers")]["element"]["initial_value"] == "7"
    values: dict[str, dict[str, Any]] = {
        Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value("rolled back")},
        field_block("region"): {Field.CUSTOM: select_value("eu")},
        field_block("customers"): {Field.CUSTOM: input_value("7")},
    }
    assert (await shaped.driver.submit(user_id=BOB, view=resolve, values=values)).body == ""
    await shaped.settle()
    snap = await shaped.runtime.service.snapshot(incident_id=1)
    assert snap.milestones.resolved_at is not None and snap.fields["region"] == "eu"


async def test_a_quick_declaration_opens_the_filled_in_modal_when_a_field_is_required(
    tmp_path: Path, slack_spec: ApiSpec
) -> None:
    team = TeamConfig.model_validate(
        tomllib.loads(
            'types = ["default", "security"]\n[fields.region]\nkind = "select"\nchoices = ["eu", "us"]\n'
            'required = "declare"\n'
        )
    )
    url = f"sqlite:///{tmp_path / 'required.db'}"
    async with running_hashi(database_url=url, spec=slack_spec, team=team) as hashi:
        told = await _say(hashi, "declare type:nope Broken", user=BOB, channel=GENERAL)
        assert "Unknown incident type `nope`" in told[0]
        modal = await _opened(
            hashi,
            lambda: hashi.driver.command(
                "declare SEV1 type:security Keys leaked", user_id=BOB, channel_id=GENERAL
            ),
        )
        blocks = {b["block_id"]: b for b in modal["blocks"]}
        assert blocks[Block.TITLE]["element"]["initial_value"] == "Keys leaked"
        assert blocks[Block.SEVERITY]["element"]["initial_option"]["value"] == "SEV1"
        assert blocks[Block.TYPE]["element"]["initial_option"]["value"] == "security"
        assert blocks[field_block("region")]["optional"] is False
        assert await hashi.runtime.service.list_incidents() == []
        missing = _declare_values("Keys leaked", more={Block.TYPE: {Field.TYPE: select_value("security")}})
        answer = (await hashi.driver.submit(user_id=BOB, view=modal, values=missing)).json()
        assert answer["errors"] == {field_block("region"): "Required to declare."}
        given = {**missing, field_block("region"): {Field.CUSTOM: select_value("us")}}
        assert (await hashi.driver.submit(user_id=BOB, view=modal, values=given)).body == ""
        await _room(hashi, "inc-1-")
        snap = await hashi.runtime.service.snapshot(incident_id=1)
        assert (snap.incident_type, dict(snap.fields)) == ("security", {"region": "us"})
        assert hashi.standin.rejections == []
