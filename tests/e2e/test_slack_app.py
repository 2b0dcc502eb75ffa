"""The Slack app as Slack sees it: signed HTTP requests in, Web API calls (checked against the spec) out."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.incidents.model import Status
from bot.slack.ids import Action, Block, Field, View
from standin.driver import checkboxes_value, input_value, select_value
from standin.harness import ALICE, ANNOUNCE, BOB, CAROL, GENERAL, MALLORY, Hashi
from tests.conftest import shared_path

RESOLVED_ON_CARD = ":white_check_mark: Resolved"


def _parsed_texts(value: object) -> list[str]:
    """Every string Slack parses as mrkdwn (fallback text, mrkdwn objects, topics); plain_text is not."""
    found: list[str] = []
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return found
        for key, item in value.items():
            if key in ("text", "topic", "purpose", "initial_comment") and isinstance(item, str):
                found.append(item)
            else:
                found += _parsed_texts(item)
    elif isinstance(value, list):
        for item in value:
            found += _parsed_texts(item)
    return found


def _all_text(hashi: Hashi) -> str:
    """Every text the app sent that Slack would parse for mentions, as one string."""
    parts = [t for c in hashi.standin.calls for t in _parsed_texts(c.args)]
    parts += [t for r in hashi.standin.responses for t in _parsed_texts(r)]
    return "\n".join(parts)


async def _declare(hashi: Hashi, text: str = "declare SEV2 Checkout errors", user: str = ALICE) -> str:
    await hashi.driver.command(text, user_id=user, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-"), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()
    return str(room)


# Request verification


async def test_bad_or_stale_signature_is_401_and_changes_nothing(hashi: Hashi) -> None:
    fields = urlencode(hashi.driver.command_body("declare SEV1 x", user_id=ALICE, channel_id=GENERAL))
    bad = await hashi.driver.post(fields, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    stale = await hashi.driver.post(
        fields, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 301
    )
    assert (bad.status, stale.status) == (401, 401)
    assert hashi.standin.calls_to("conversations.create") == []


@pytest.mark.reference_data  # Slack's own sample bodies stay in ../shared/slack/payloads
async def test_url_verification_sample_from_slack_docs(hashi: Hashi) -> None:
    body = shared_path("slack", "payloads", "event_url_verification.json").read_text()
    sent = await hashi.driver.post(body, "application/json")
    assert sent.status == 200 and sent.json()["challenge"] == json.loads(body)["challenge"]


@pytest.mark.reference_data  # Slack's own sample bodies stay in ../shared/slack/payloads
async def test_slack_docs_slash_command_sample_reaches_the_listener(hashi: Hashi) -> None:
    fields = dict(parse_qsl(shared_path("slack", "payloads", "slash_command.txt").read_text()))
    response_url = hashi.standin.response_url(channel=GENERAL)
    fields |= {
        "command": "/incident",
        "text": "help",
        "user_id": ALICE,
        "channel_id": GENERAL,
        "team_id": hashi.driver.team_id,
        "response_url": response_url,
    }
    sent = await hashi.driver.post(urlencode(fields), "application/x-www-form-urlencoded")
    assert sent.status == 200
    reply = await hashi.eventually(lambda: hashi.standin.responses_to(response_url), what="the help reply")
    assert reply[0]["response_type"] == "ephemeral" and "/incident declare" in reply[0]["text"]


# Declaring


async def test_declare_command_builds_the_room(hashi: Hashi) -> None:
    sent = await hashi.driver.command("declare SEV2 Checkout errors", user_id=ALICE, channel_id=GENERAL)
    assert sent.status == 200 and sent.body == ""  # acked at once; the work follows
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-checkout-errors"), what="the channel")
    channel = hashi.standin.channels[room]
    await hashi.eventually(lambda: channel.pins, what="the pinned card")
    await hashi.settle()
    assert ALICE in channel.members and not channel.is_private
    assert "SEV2" in channel.topic and "Checkout errors" in channel.topic and "INC-1" in channel.purpose
    card = hashi.card(room)
    assert card["blocks"][0]["text"]["text"] == "INC-1 · Checkout errors"
    action_ids = {e["action_id"] for b in card["blocks"] for e in b.get("elements", []) if "action_id" in e}
    assert {
        Action.ACK,
        Action.SEVERITY,
        Action.STATUS,
        Action.NOTE,
        Action.RESOLVE,
        Action.EXPORT,
    } <= action_ids
    assert all(a.startswith("hashi_") for a in action_ids)
    announced = hashi.messages(ANNOUNCE)
    assert len(announced) == 1 and f"<#{room}>" in json.dumps(announced[0]["blocks"])
    reply = await hashi.eventually(lambda: hashi.standin.responses, what="the declarer's reply")
    assert f"<#{room}>" in reply[-1]["text"] and reply[-1]["response_type"] == "ephemeral"
    # A declaration carries no time: the declarer's profile (for the language of the reply) is looked up once,
    # beside the room's set-up, not before it (bench/declaration_path.py measures the sequential depth).
    assert [c.method for c in hashi.standin.calls].count("users.info") == 1


async def test_declare_modal_opens_then_submits_once(hashi: Hashi) -> None:
    await hashi.driver.command("", user_id=BOB, channel_id=GENERAL)
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open"), what="the declare modal")
    view = opened[0].response["view"]
    assert view["callback_id"] == View.DECLARE
    blocks = {b["block_id"] for b in view["blocks"]}
    assert {
        Block.TITLE,
        Block.SEVERITY,
        Block.SERVICES,
        Block.SUMMARY,
        Block.PRIVATE,
        Block.DETECTED,
    } <= blocks
    values = {
        Block.TITLE: {Field.TITLE: input_value("検索が遅い")},
        Block.SEVERITY: {Field.SEVERITY: select_value("SEV3")},
        Block.SERVICES: {Field.SERVICES: input_value("search, api")},
        Block.SUMMARY: {Field.SUMMARY: input_value("p99 latency 5s")},
        Block.PRIVATE: {Field.PRIVATE: checkboxes_value([])},
        Block.DETECTED: {Field.DETECTED: input_value("10m ago")},
    }
    first = await hashi.driver.submit(user_id=BOB, view=view, values=values)
    again = await hashi.driver.submit(user_id=BOB, view=view, values=values)  # a retried delivery
    assert (first.status, again.status) == (200, 200)
    await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
    await hashi.settle()
    incidents = await hashi.runtime.service.list_incidents(open_only=False)
    assert len(incidents) == 1
    inc = incidents[0]
    assert (inc.title, inc.severity, inc.services) == ("検索が遅い", "SEV3", ("search", "api"))
    assert inc.milestones.detected_at is not None and inc.milestones.declared_at is not None
    assert 540 <= (inc.milestones.declared_at - inc.milestones.detected_at).total_seconds() <= 660
    assert len(hashi.standin.calls_to("conversations.create")) == 1


async def test_declare_modal_errors_show_next_to_fields(hashi: Hashi) -> None:
    await hashi.driver.command("declare", user_id=BOB, channel_id=GENERAL)
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open"), what="the declare modal")
    view = opened[0].response["view"]
    sent = await hashi.driver.submit(
        user_id=BOB,
        view=view,
        values={
            Block.TITLE: {Field.TITLE: input_value("  ")},
            Block.SEVERITY: {Field.SEVERITY: select_value("SEV1")},
            Block.DETECTED: {Field.DETECTED: input_value("yesterday-ish")},
        },
    )
    answer = sent.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {Block.TITLE, Block.DETECTED}
    await hashi.settle()
    assert await hashi.runtime.service.list_incidents(open_only=False) == []


async def test_private_incident_stays_private(hashi: Hashi) -> None:
    await hashi.driver.command("", user_id=ALICE, channel_id=GENERAL)
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open"), what="the declare modal")
    await hashi.driver.submit(
        user_id=ALICE,
        view=opened[0].response["view"],
        values={
            Block.TITLE: {Field.TITLE: input_value("Leaked credentials")},
            Block.SEVERITY: {Field.SEVERITY: select_value("SEV1")},
            Block.PRIVATE: {Field.PRIVATE: checkboxes_value(["private"])},
        },
    )
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
    await hashi.settle()
    assert hashi.standin.channels[room].is_private
    assert hashi.messages(ANNOUNCE) == []
    # An outsider sees nothing in /incident list, and cannot export it.
    listed = await hashi.driver.command("list", user_id=MALLORY, channel_id=GENERAL)
    await hashi.settle()
    outsider_reply = json.dumps(hashi.standin.responses_to(listed.response_url or ""), ensure_ascii=False)
    assert "Leaked" not in outsider_reply and "No open incidents" in outsider_reply
    exported = await hashi.driver.command("postmortem INC-1", user_id=MALLORY, channel_id=GENERAL)
    await hashi.settle()
    assert "no incident INC-1" in json.dumps(hashi.standin.responses_to(exported.response_url or ""))
    assert hashi.standin.files == {}
    # The declarer does see it.
    mine = await hashi.driver.command("list", user_id=ALICE, channel_id=GENERAL)
    await hashi.settle()
    assert "Leaked credentials" in json.dumps(hashi.standin.responses_to(mine.response_url or ""))


# Running an incident


async def test_whole_incident_from_slack(hashi_on_both: Hashi) -> None:
    hashi = hashi_on_both
    room = await _declare(hashi, "declare SEV2 決済APIのエラー率上昇 🔥")
    d = hashi.driver
    await d.click(user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.ACK)
    await hashi.eventually(
        lambda: Action.ACK not in json.dumps(hashi.card(room)), what="ack to leave the card"
    )
    await d.command(f"lead <@{BOB}|bob>", user_id=ALICE, channel_id=room)
    await d.click(
        user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.SEVERITY, value="SEV1"
    )
    await hashi.eventually(lambda: "SEV1" in hashi.standin.channels[room].topic, what="the topic to follow")
    # A pinned message, delivered twice by Slack (a retry with the same event_id), and a second pin event.
    finding = hashi.standin.add_message(room, user=CAROL, text="DBの接続数が上限に達しています")
    pin = {
        "type": "pin_added",
        "user": CAROL,
        "channel_id": room,
        "event_ts": finding["ts"],
        "item": {"type": "message", "channel": room, "message": finding, "created": 1, "created_by": CAROL},
    }
    await d.event(pin, event_id="EvPIN1")
    await d.event(pin, event_id="EvPIN1", retry=1)
    await d.event(pin, event_id="EvPIN2")  # pinned again after an unpin elsewhere: still once
    await d.command("note at 5m ago 接続プールを拡張", user_id=CAROL, channel_id=room)
    await hashi.settle()
    await d.click(
        user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.STATUS, value="monitoring"
    )
    await hashi.eventually(  # the card's status field (its status menu always offers Monitoring)
        lambda: hashi.card(room)["blocks"][1]["fields"][1]["text"].endswith("Monitoring"),
        what="monitoring on the card",
    )
    await d.click(user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.NOTE)
    note_view = (await hashi.eventually(lambda: hashi.standin.calls_to("views.open"))).pop().response["view"]
    await d.submit(
        user_id=BOB,
        view=note_view,
        values={
            Block.NOTE_TEXT: {Field.NOTE_TEXT: input_value("Error ratio back under 0.1%")},
            Block.NOTE_AT: {Field.NOTE_AT: input_value("")},
        },
    )
    await hashi.settle()
    await d.click(user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.RESOLVE)
    await hashi.eventually(lambda: len(hashi.standin.calls_to("views.open")) == 2, what="the resolve modal")
    resolve_view = hashi.standin.calls_to("views.open")[-1].response["view"]
    await d.submit(
        user_id=BOB,
        view=resolve_view,
        values={
            Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value("Pool size raised; errors gone")},
        },
    )
    # SEV1 started the major-incident playbook, whose required items gate the resolve: confirm the override.
    gate = await hashi.eventually(lambda: hashi.standin.ephemeral.get(BOB), what="the gate confirmation")
    assert "required checklist items open" in json.dumps(gate[-1])
    assert hashi.card(room)["blocks"][1]["fields"][1]["text"].endswith("Monitoring")
    await d.click(user_id=BOB, channel_id=room, message=gate[-1], action_id=Action.RESOLVE_ANYWAY)
    await hashi.eventually(lambda: RESOLVED_ON_CARD in json.dumps(hashi.card(room)), what="the resolved card")
    await d.click(user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.EXPORT)
    upload = await hashi.eventually(lambda: list(hashi.standin.files.values()), what="the postmortem upload")
    await hashi.settle()

    incident_id = await hashi.runtime.service.incident_for_channel(channel_id=room)
    snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
    assert snap.status is Status.RESOLVED and snap.severity == "SEV1" and snap.lead == BOB
    assert "required items still open" in next(e.text for e in snap.timeline if e.kind == "resolved")
    texts = [e.text for e in snap.timeline]
    assert texts.count("DBの接続数が上限に達しています") == 1
    assert "接続プールを拡張" in texts and "Error ratio back under 0.1%" in texts
    backdated = next(e for e in snap.timeline if e.text == "接続プールを拡張")
    assert 240 <= (backdated.recorded_at - backdated.at).total_seconds() <= 400
    assert [e.at for e in snap.timeline] == sorted(e.at for e in snap.timeline)
    pinned = next(e for e in snap.timeline if e.source_ref == finding["ts"])
    assert pinned.actor == CAROL and pinned.permalink and room in pinned.permalink
    assert upload[0].channel_id == room and "決済APIのエラー率上昇" in upload[0].content.decode()
    # One short line per change in the channel, and the card updated in place (never reposted).
    lines = [m["text"] for m in hashi.messages(room) if m["ts"] not in hashi.standin.channels[room].pins]
    assert any("Severity SEV2 → SEV1" in t for t in lines) and any("Resolved" in t for t in lines)
    # Changes that land while the card is being updated are shown together by the next update (coalesced),
    # so a run counts between 3 and one update a change; the card is never posted twice.
    assert len(hashi.standin.calls_to("chat.update")) >= 3
    assert len([m for m in hashi.messages(room) if str(m.get("text", "")).startswith("INC-1 [")]) == 1


async def test_bad_input_is_ephemeral_and_changes_nothing(hashi: Hashi) -> None:
    room = await _declare(hashi)
    before = len([c for c in hashi.standin.calls if c.method not in ("users.info", "auth.test")])
    cases = [
        "frobnicate",
        "sev SEV9",
        "status sleeping",
        "note at 99:99 hmm",
        "lead bob",
        "ack at 2099-01-01 10:00",
        "note " + "x" * 3000,
    ]
    for text in cases:
        sent = await hashi.driver.command(text, user_id=BOB, channel_id=room)
        reply = await hashi.eventually(
            lambda s=sent: hashi.standin.responses_to(s.response_url or ""), what=text
        )
        assert reply[0]["response_type"] == "ephemeral" and ":warning:" in reply[0]["text"], text
    await hashi.settle()
    after = len([c for c in hashi.standin.calls if c.method not in ("users.info", "auth.test")])
    assert after == before
    snap = (await hashi.runtime.service.list_incidents())[0]
    assert snap.severity == "SEV2" and snap.lead is None


async def test_commands_outside_an_incident_channel_explain_themselves(hashi: Hashi) -> None:
    sent = await hashi.driver.command("status monitoring", user_id=BOB, channel_id=GENERAL)
    reply = await hashi.eventually(lambda: hashi.standin.responses_to(sent.response_url or ""))
    assert "not an incident channel" in reply[0]["text"] and "INC-12" in reply[0]["text"]


async def test_user_text_cannot_ping_or_inject(hashi: Hashi) -> None:
    room = await _declare(hashi, "declare SEV3 <!channel> <!here> <!subteam^S1> &lt;!channel&gt; *boom*")
    await hashi.driver.command("note <!everyone> <http://evil|click> & done", user_id=BOB, channel_id=room)
    await hashi.settle()
    everything = _all_text(hashi)
    for ping in ("<!channel>", "<!here>", "<!subteam", "<!everyone>", "<http://evil"):
        assert ping not in everything


async def test_list_shows_open_incidents_newest_first(hashi: Hashi) -> None:
    for title in ("first", "second", "third"):
        await hashi.driver.command(f"declare SEV4 {title}", user_id=ALICE, channel_id=GENERAL)
        await hashi.settle()
    sent = await hashi.driver.command("list", user_id=BOB, channel_id=GENERAL)
    reply = await hashi.eventually(lambda: hashi.standin.responses_to(sent.response_url or ""))
    text = json.dumps(reply[0]["blocks"])
    assert text.index("third") < text.index("second") < text.index("first")


async def test_member_join_and_app_home(hashi: Hashi) -> None:
    room = await _declare(hashi)
    await hashi.driver.event(
        {
            "type": "member_joined_channel",
            "user": CAROL,
            "channel": room,
            "channel_type": "C",
            "team": hashi.driver.team_id,
            "event_ts": "1.1",
        }
    )
    await hashi.driver.event(
        {"type": "app_home_opened", "user": CAROL, "channel": "D1", "tab": "home", "event_ts": "1.2"}
    )
    home = await hashi.eventually(lambda: hashi.standin.home_views.get(CAROL), what="App Home")
    assert "Checkout errors" in json.dumps(home)
    snap = (await hashi.runtime.service.list_incidents())[0]
    assert CAROL in (await hashi.runtime.service.snapshot(incident_id=snap.id)).participants


async def test_slack_rate_limit_during_declaration_is_retried(hashi: Hashi) -> None:
    hashi.standin.fail_next("chat.postMessage", status=429, retry_after=1)
    hashi.standin.fail_next("conversations.create", status=503)
    room = await _declare(hashi)
    assert hashi.standin.channels[room].pins
    assert len(hashi.standin.calls_to("conversations.create")) == 2


async def test_list_pages_through_many_incidents(hashi: Hashi) -> None:
    # 25 declarations within a second open more channels than Slack lets a workspace create in a minute
    # (conversations.create is Tier 2: 20); this test is about paging the list, so Slack's limits are off.
    hashi.standin.rate_limits.enabled = False
    for n in range(25):
        await hashi.runtime.service.declare(title=f"Incident number {n + 1}", actor=ALICE, severity="SEV4")
    await hashi.settle()
    sent = await hashi.driver.command("list", user_id=BOB, channel_id=GENERAL)
    first = (await hashi.eventually(lambda: hashi.standin.responses_to(sent.response_url or "")))[0]
    lines = [b for b in first["blocks"] if b["type"] == "section"]
    assert len(lines) == 20 and "Incident number 25" in json.dumps(lines[0])
    assert "Page 1 of 2" in json.dumps(first["blocks"]) and len(first["blocks"]) <= 50
    message = {"ts": "1.1", "blocks": first["blocks"]}
    await hashi.driver.click(
        user_id=BOB, channel_id=GENERAL, message=message, action_id="hashi_list_page_next"
    )
    pages = await hashi.eventually(
        lambda: [r for r in hashi.standin.responses if "Page 2 of 2" in json.dumps(r)], what="page 2"
    )
    assert pages[0]["replace_original"] is True
    second = [b for b in pages[0]["blocks"] if b["type"] == "section"]
    assert len(second) == 5 and "Incident number 1" in json.dumps(second[-1])
    assert "hashi_list_page_prev" in json.dumps(pages[0]["blocks"])


async def test_slow_users_info_does_not_hold_up_a_modal_ack(hashi: Hashi) -> None:
    room = await _declare(hashi)
    await hashi.driver.click(user_id=CAROL, channel_id=room, message=hashi.card(room), action_id=Action.NOTE)
    view = (await hashi.eventually(lambda: hashi.standin.calls_to("views.open"))).pop().response["view"]
    hashi.standin.fail_next("users.info", status=200, hang=3.0)  # Slack slow to say Carol's time zone
    started = time.monotonic()
    sent = await hashi.driver.submit(
        user_id=CAROL,
        view=view,
        values={
            Block.NOTE_TEXT: {Field.NOTE_TEXT: input_value("Found it while Slack was slow")},
            Block.NOTE_AT: {Field.NOTE_AT: input_value("5m ago")},
        },
    )
    assert sent.status == 200 and time.monotonic() - started < 2.0
    incident_id = await hashi.runtime.service.incident_for_channel(channel_id=room)
    await hashi.settle(quiet=0.5)
    snap = await hashi.runtime.service.snapshot(incident_id=incident_id)
    assert "Found it while Slack was slow" in [e.text for e in snap.timeline]
