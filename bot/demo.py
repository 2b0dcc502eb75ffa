"""`hashi demo`: a scripted incident through the real app, over HTTP, against a local Slack stand-in."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.i18n import DEFAULT_LANG, Lang
from bot.incidents.times import zone
from bot.settings import TeamConfig
from bot.slack.ids import Action, Block, Field
from bot.standin.driver import input_value
from bot.standin.harness import ALICE, BOB, CAROL, GENERAL, Hashi, running_hashi
from bot.standin.spec import ApiSpec, find_spec_path

# The required items of the shipped major-incident playbook (SEV1/SEV2).
REQUIRED_IN_DEMO = {"assign-lead", "first-customer-update", "verify-recovery"}


def checklist_message(hashi: Hashi, room: str) -> dict[str, Any]:
    """The checklist message Hashi posted in the room, as it is now."""
    for message in hashi.messages(room):
        if any(b.get("block_id", "").startswith("hashi_checklist_") for b in message.get("blocks", [])):
            return message
    raise LookupError("no checklist message in the room")


def _say(text: str) -> None:
    print(f"  » {text}", file=sys.stderr)


async def _latest_view(hashi: Hashi) -> dict[str, Any]:
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open"), what="a modal")
    return dict(opened[-1].response["view"])


async def script(hashi: Hashi) -> int:
    """Declares, runs and resolves an incident the way a team would, then returns its id."""
    d = hashi.driver
    _say("Alice types `/incident declare SEV2 決済APIのエラー率上昇` in #general")
    await d.command(
        "declare SEV2 決済APIのエラー率上昇 (payments API errors)", user_id=ALICE, channel_id=GENERAL
    )
    room = await hashi.eventually(lambda: hashi.channel_named("inc-"), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    _say(f"Hashi opened #{hashi.standin.channels[room].name}, pinned the card and announced it")
    await d.event(
        {
            "type": "member_joined_channel",
            "user": BOB,
            "channel": room,
            "channel_type": "C",
            "team": d.team_id,
            "inviter": ALICE,
            "event_ts": "1.0",
        }
    )
    _say("Alice: `/incident lead @bob`, `/incident impact start 25m ago`, `/incident detected 15m ago`")
    await d.command(f"lead <@{BOB}|bob>", user_id=ALICE, channel_id=room)
    await d.command("impact start 25m ago", user_id=ALICE, channel_id=room)
    await d.command("detected 15m ago", user_id=ALICE, channel_id=room)
    await hashi.settle()
    _say("Bob posts a finding; Carol pins it (Slack delivers the pin event twice)")
    finding = hashi.standin.add_message(
        room, user=BOB, text="Error ratio jumped right after deploy v2.3.1 of payments-api"
    )
    pin = {
        "type": "pin_added",
        "user": CAROL,
        "channel_id": room,
        "item": {"type": "message", "channel": room, "message": finding, "created": 1, "created_by": CAROL},
        "event_ts": finding["ts"],
    }
    await d.event(pin, event_id="EvDEMOPIN1")
    await d.event(pin, event_id="EvDEMOPIN1", retry=1)
    _say("Bob: `/incident status identified at 5m ago Bad deploy of payments-api v2.3.1`")
    await d.command(
        "status identified at 5m ago Bad deploy of payments-api v2.3.1", user_id=BOB, channel_id=room
    )
    await hashi.settle()
    _say("Bob picks Monitoring on the card after rolling back")
    await d.click(
        user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.STATUS, value="monitoring"
    )
    await hashi.settle()
    await d.command(
        f"followup Alert on payment error ratio per deploy <@{BOB}|bob>", user_id=ALICE, channel_id=room
    )
    await d.command("note 決済成功率が99.9%に回復", user_id=ALICE, channel_id=room)
    await hashi.settle()
    _say("Bob ticks the required items of the major-incident checklist")
    for block in checklist_message(hashi, room)["blocks"]:
        if block.get("type") != "actions":
            continue
        values = [o["value"] for o in block["elements"][0]["options"]]
        wanted = [v for v in values if v.split("/", 1)[1] in REQUIRED_IN_DEMO]
        if wanted:
            await d.click(
                user_id=BOB,
                channel_id=room,
                message=checklist_message(hashi, room),
                action_id=Action.CHECKLIST,
                values=wanted,
                block_id=block["block_id"],
            )
            await hashi.settle()
    _say("Bob clicks Resolve on the card and submits the resolve modal")
    await d.click(user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.RESOLVE)
    view = await _latest_view(hashi)
    await d.submit(
        user_id=BOB,
        view=view,
        values={
            Block.RESOLVE_SUMMARY: {
                Field.RESOLVE_SUMMARY: input_value("Rolled back v2.3.1; error ratio back to baseline")
            },
            Block.RESOLVE_AT: {Field.RESOLVE_AT: input_value("")},
        },
    )
    await hashi.eventually(
        lambda: Action.REOPEN in json.dumps(hashi.card(room)), what="the resolved card (it offers Reopen)"
    )
    await hashi.settle()
    incident_id = await hashi.runtime.service.incident_for_channel(channel_id=room)
    assert incident_id is not None
    return int(incident_id)


async def run_demo(*, lang: Lang = DEFAULT_LANG, web: bool = False) -> int:
    """Runs the scripted incident in a workspace speaking `lang` and prints its postmortem draft to stdout;
    `web`: then prints the address of the incident's page on the web dashboard and serves until
    interrupted (sign in there as any of the stand-in's people)."""
    from bot.incidents.ports import SystemClock
    from bot.reports.postmortem import render_postmortem

    spec_path = find_spec_path()
    spec = ApiSpec.load(spec_path) if spec_path else None
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'demo.db'}"
        team = TeamConfig(language=lang)
        async with running_hashi(
            database_url=url, spec=spec, team=team, timezone="Asia/Tokyo", sign_in=web
        ) as hashi:
            _say(
                "Hashi is running against a local Slack stand-in"
                + (" that checks every call against Slack's published spec" if spec else "")
            )
            incident_id = await script(hashi)
            snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
            calls = len(hashi.standin.calls)
            rejected = len(hashi.standin.rejections)
            names = {u.id: u.real_name for u in hashi.standin.users.values()}
            print(
                render_postmortem(
                    snap, tz=zone("Asia/Tokyo"), generated_at=SystemClock().now(), names=names, lang=lang
                )
            )
            if web:
                print(f"{hashi.base}/incidents/{incident_id}", flush=True)
                _say("the web dashboard serves at the address above until interrupted (Ctrl-C)")
                await asyncio.Event().wait()
    _say(f"{calls} Slack Web API calls, {rejected} rejected by the stand-in")
    return 0 if rejected == 0 else 1
