"""Permissions and private incidents, tried through Slack as the people they should stop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import TeamConfig
from bot.slack.ids import Action, Block, Field
from standin.driver import checkboxes_value, input_value, select_value
from standin.harness import ALICE, ANNOUNCE, BOB, CAROL, GENERAL, MALLORY, Hashi, running_hashi
from standin.spec import ApiSpec

RULES = {
    "close": ["lead", "usergroup:S0SRE"],
    "severity": ["roles", "usergroup:S0SRE"],
    "export": ["participants"],
}


@pytest.fixture
async def strict(tmp_path: Path, slack_spec: ApiSpec) -> AsyncIterator[Hashi]:
    """Hashi with permission rules, and an SRE user group Carol belongs to."""
    team = TeamConfig.model_validate({"permissions": RULES})
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'h.db'}", spec=slack_spec, team=team
    ) as hashi:
        hashi.standin.add_usergroup("S0SRE", "sre", [CAROL])
        yield hashi
        assert hashi.standin.rejections == []


async def _reply(hashi: Hashi, text: str, user: str, channel: str) -> str:
    sent = await hashi.driver.command(text, user_id=user, channel_id=channel)
    replies = await hashi.eventually(lambda: hashi.standin.responses_to(sent.response_url or ""), what=text)
    return str(replies[0]["text"])


async def test_rules_refuse_with_who_may_and_allow_the_right_people(strict: Hashi) -> None:
    hashi = strict
    await hashi.driver.command("declare SEV3 Billing lag", user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
    await hashi.settle()
    refused = await _reply(hashi, "sev SEV1", MALLORY, room)
    assert "may not change the severity" in refused and "members of user group S0SRE" in refused
    await _reply_none(hashi, "resolve fixed", ALICE, room)  # resolving is open to anyone who can see it
    refused = await _reply(hashi, "close", MALLORY, room)
    assert "only the incident lead or members of user group S0SRE may" in refused
    await _reply_none(hashi, "close", CAROL, room)  # Carol is in the SRE group
    await hashi.settle()
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert snap.status.value == "closed" and snap.severity == "SEV3"
    refused = await _reply(hashi, "postmortem", MALLORY, room)
    assert "may not export" in refused and hashi.standin.files == {}


async def _reply_none(hashi: Hashi, text: str, user: str, channel: str) -> None:
    sent = await hashi.driver.command(text, user_id=user, channel_id=channel)
    await hashi.settle()
    assert hashi.standin.responses_to(sent.response_url or "") == [], text


async def _declare_private(hashi: Hashi) -> str:
    return await _declare_in_modal(hashi, "Secret rotation leak", services="vault", private=True)


async def _declare_in_modal(hashi: Hashi, title: str, *, services: str, private: bool) -> str:
    """Declares through the modal as Alice; returns the new incident's channel."""
    before = set(hashi.standin.channels)
    opens = len(hashi.standin.calls_to("views.open"))
    await hashi.driver.command("", user_id=ALICE, channel_id=GENERAL)
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open")[opens:], what="the modal")
    await hashi.driver.submit(
        user_id=ALICE,
        view=opened[0].response["view"],
        values={
            Block.TITLE: {Field.TITLE: input_value(title)},
            Block.SEVERITY: {Field.SEVERITY: select_value("SEV1")},
            Block.SERVICES: {Field.SERVICES: input_value(services)},
            Block.PRIVATE: {Field.PRIVATE: checkboxes_value(["private"] if private else [])},
        },
    )
    room = await hashi.eventually(
        lambda: next((c for c in hashi.standin.channels if c not in before), None), what="the channel"
    )
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the card")
    await hashi.settle()
    return str(room)


async def test_stats_never_name_a_service_only_private_incidents_carry(hashi: Hashi) -> None:
    await _declare_in_modal(hashi, "Secret rotation leak", services="secretsvc, checkout", private=True)
    await _declare_in_modal(hashi, "Checkout 500s", services="checkout", private=False)
    # An outsider: checkout's numbers count the private incident, but no group names its other service,
    # and asking for that service answers as for one nobody has.
    outside = await _reply(hashi, "stats 30d service:checkout", MALLORY, GENERAL)
    assert "checkout" in outside and "2" in outside
    assert "secretsvc" not in outside.lower()
    secret = await _reply(hashi, "stats 30d service:secretsvc", MALLORY, GENERAL)
    nothing = await _reply(hashi, "stats 30d service:nosuchsvc", MALLORY, GENERAL)
    assert secret.replace("secretsvc", "X") == nothing.replace("nosuchsvc", "X")
    everything = await _reply(hashi, "stats 30d", MALLORY, GENERAL)
    assert "secretsvc" not in everything.lower()
    # Alice declared it: she sees it whole.
    inside = await _reply(hashi, "stats 30d service:checkout", ALICE, GENERAL)
    assert "secretsvc" in inside
    assert "secretsvc" in await _reply(hashi, "stats 30d service:secretsvc", ALICE, GENERAL)


async def test_private_incident_leaks_nowhere_for_outsiders(hashi: Hashi) -> None:
    room = await _declare_private(hashi)
    assert hashi.standin.channels[room].is_private and hashi.messages(ANNOUNCE) == []
    # Writes by naming it from outside: refused as if it did not exist.
    for text in (
        "sev INC-1 SEV3",
        "note INC-1 I was here",
        "resolve INC-1",
        "lead INC-1 <@U0MALLORY|m>",
        "checklist INC-1",
        "postmortem INC-1",
        "retry INC-1",
    ):
        said = await _reply(hashi, text, MALLORY, GENERAL)
        assert "no incident INC-1 you can see" in said, text
    # A card button replayed by an outsider.
    card = hashi.card(room)
    await hashi.driver.click(user_id=MALLORY, channel_id=room, message=card, action_id=Action.ACK)
    await hashi.settle()
    # Lists, App Home and stats.
    assert "Secret" not in json.dumps(
        hashi.standin.responses_to(
            (await hashi.driver.command("list", user_id=MALLORY, channel_id=GENERAL)).response_url or ""
        )
    )
    await hashi.driver.event(
        {"type": "app_home_opened", "user": MALLORY, "channel": "D1", "tab": "home", "event_ts": "1.1"}
    )
    home = await hashi.eventually(lambda: hashi.standin.home_views.get(MALLORY), what="App Home")
    assert "Secret" not in json.dumps(home) and "INC-1" not in json.dumps(home)
    stats = await _reply(hashi, "stats 30d", MALLORY, GENERAL)
    assert ("Secret" not in stats and "vault" not in stats.lower()) or "INC-1" not in stats
    await hashi.settle()
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert snap.severity == "SEV1" and snap.status.value == "investigating" and snap.lead is None
    assert snap.milestones.acknowledged_at is None
    assert all("I was here" not in e.text for e in snap.timeline)
    assert hashi.standin.files == {}
    # The people inside see it.
    await hashi.driver.event(
        {
            "type": "member_joined_channel",
            "user": BOB,
            "channel": room,
            "channel_type": "G",
            "team": hashi.driver.team_id,
            "event_ts": "1.2",
        }
    )
    await hashi.settle()
    listed = await hashi.driver.command("list", user_id=BOB, channel_id=GENERAL)
    await hashi.settle()
    assert "Secret rotation leak" in json.dumps(hashi.standin.responses_to(listed.response_url or ""))


# Every way to name an incident in `/incident`, with arguments it accepts (the words come from the parser).
_ARGUMENTS = {
    "sev": "SEV2 worse",
    "status": "identified the cause",
    "lead": "<@U0BOB|bob>",
    "role": "comms <@U0BOB|bob>",
    "note": "hello",
    "impact": "start 10m ago",
    "detected": "10m ago",
    "resolve": "fixed",
    "playbook": "datastore-outage",
    "followup": "add an alert",
    "statuspage": "publish We are looking into it",
    "type": "default",
    "set": "region eu",
    "services": "checkout, +search",
    "page": "checkout",
}


def _incident_forms() -> list[str]:
    """`<word> INC-{id} <args>` and `INC-{id} <word> <args>` for every subcommand word on one incident."""
    from bot.slack.parse import _ALIASES
    from bot.slack.subcommands import INCIDENT_READERS

    forms = []
    for word, name in sorted(_ALIASES.items()):
        if name in INCIDENT_READERS:
            args = _ARGUMENTS.get(name, "")
            forms += [f"{word} INC-{{id}} {args}".strip(), f"INC-{{id}} {word} {args}".strip()]
    forms += ["#{id} note hi", "status #{id} resolved done", "status INC-{id} resolved"]
    return forms


async def test_a_private_incident_answers_as_a_missing_one(hashi: Hashi) -> None:
    """An outsider learns nothing from the answer: a private incident and no incident read the same."""
    room = await _declare_private(hashi)
    forms = _incident_forms()
    assert len(forms) >= 38
    for form in forms:
        private = await _reply(hashi, form.format(id=1), MALLORY, GENERAL)
        missing = await _reply(hashi, form.format(id=9999), MALLORY, GENERAL)
        assert private.replace("INC-1", "INC-N") == missing.replace("INC-9999", "INC-N"), form
        assert "no incident INC-1 you can see" in private, form
    for action_id in (Action.ACK, Action.NOTE, Action.RESOLVE, Action.EXPORT, Action.REOPEN):
        said = []
        for value in ("1", "9999"):
            click = hashi.driver.block_actions(
                user_id=MALLORY,
                channel_id=GENERAL,
                message=hashi.card(room),
                action={"action_id": action_id, "block_id": Block.CARD_ACTIONS, "type": "button"}
                | {"value": value},
            )
            await hashi.driver.interact(click)
            answers = await hashi.eventually(
                lambda click=click: hashi.standin.responses_to(click["response_url"]), what=action_id
            )
            said.append(str(answers[0]["text"]).replace(f"INC-{value}", "INC-N"))
        assert said[0] == said[1], action_id
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert snap.severity == "SEV1" and snap.status.value == "investigating"


def _membership(hashi: Hashi, kind: str, user: str, room: str, ts: str) -> dict[str, object]:
    return {
        "type": kind,
        "user": user,
        "channel": room,
        "channel_type": "G",
        "team": hashi.driver.team_id,
        "event_ts": ts,
    }


async def test_leaving_a_private_incidents_channel_hides_it_until_coming_back(hashi: Hashi) -> None:
    room = await _declare_private(hashi)

    async def sees_it() -> bool:
        listed = await hashi.driver.command("list", user_id=BOB, channel_id=GENERAL)
        await hashi.settle()
        return "Secret rotation leak" in json.dumps(hashi.standin.responses_to(listed.response_url or ""))

    await hashi.driver.event(_membership(hashi, "member_joined_channel", BOB, room, "1.1"))
    await hashi.settle()
    assert await sees_it()
    await _reply_none(hashi, "note INC-1 looking at the vault logs", BOB, GENERAL)
    await hashi.driver.event(_membership(hashi, "member_left_channel", BOB, room, "1.2"))
    await hashi.settle()
    assert not await sees_it()
    for text in ("checklist INC-1", "note INC-1 still here?", "sev INC-1 SEV2", "postmortem INC-1"):
        assert "no incident INC-1 you can see" in await _reply(hashi, text, BOB, GENERAL), text
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert all("still here" not in e.text for e in snap.timeline) and snap.severity == "SEV1"
    # The record keeps who took part; the people who may see it are the ones in the channel.
    assert BOB in snap.participants and BOB not in snap.people
    await hashi.driver.event(_membership(hashi, "member_joined_channel", BOB, room, "1.3"))
    await hashi.settle()
    assert await sees_it()


async def test_a_removal_hashi_never_heard_of_is_found_in_slacks_membership(hashi: Hashi) -> None:
    room = await _declare_private(hashi)
    channel = hashi.standin.channels[room]
    channel.members.append(BOB)  # Bob joins, and Slack tells Hashi
    await hashi.driver.event(_membership(hashi, "member_joined_channel", BOB, room, "2.1"))
    await hashi.settle()
    # Bob is removed while no replica listens: the event never arrives. CAROL was added the same way.
    channel.members.remove(BOB)
    channel.members.append(CAROL)
    assert await hashi.runtime.service.follow_private_rooms() == 2  # the repair pass's step
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert BOB not in snap.people and CAROL in snap.people and ALICE in snap.people
    assert "no incident INC-1 you can see" in await _reply(hashi, "note INC-1 still here?", BOB, GENERAL)
    assert await hashi.runtime.service.follow_private_rooms() == 0  # nothing moved since
