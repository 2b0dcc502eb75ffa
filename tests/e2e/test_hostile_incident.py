"""A whole incident with hostile and oversized input (issue 17): text at every limit, markup, Japanese, bidi
characters, 40 services, long mentions and a 50-item playbook, through signed requests to the real app; then
every message and view Hashi sent is checked as Slack checks it, and nothing it sent pings or reorders."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.slack.ids import Action, Block, Field
from bot.slack.parse import parse_command
from bot.slack.text import MAX_REASON, MAX_SERVICES, MAX_TEXT, MAX_TITLE
from bot.slack.words import ParseError
from standin.driver import checkboxes_value, input_value, select_value
from standin.harness import ALICE, BOB, CAROL, GENERAL, MALLORY, Hashi, running_hashi
from standin.spec import ApiSpec
from tests.slack.blockkit import call_problems, message_problems, strings, unsafe_markup

SHIPPED_PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
BIDI = "\u202eevil\u202c \u2066iso\u2069 \u202a\u202b\u202d\u2067\u2068x\u2069"
# What a person means, as a modal's plain-text input delivers it (raw: nothing escaped, nothing resolved).
RAW = (
    "<!channel> <!here> <!everyone> <!subteam^S0OPS> <@U0EVIL> & &amp; &lt;!here&gt; *bold* _it_ ~del~ "
    f"`code` ```fence``` > quote <https://evil.example|click> 決済APIのエラー率上昇 {BIDI} "
)
# The same kind of text as Slack delivers a slash command: @channel as `<!channel>`, a mention with its name,
# a link, and what was typed literally (`<`, `>`, `&`) as entities.
TYPED = (
    "<!channel> <!here> <!subteam^S0OPS|@ops> <@U0BOB|bob> &lt;!channel&gt; &lt;@U0EVIL&gt; &amp; "
    "&amp;amp; *bold* _it_ ~del~ `code` ```fence``` &gt; quote <https://evil.example|click> "
    f"決済APIのエラー率上昇 {BIDI} "
)
LONG_NAME = "Bob " + "ジョーンズ" * 14  # a display name as long as Slack allows (80)
# `<@U0EVIL>` in user text stays a live mention on purpose (mrkdwn.user_text: naming a person pings them);
# `<!channel>`, `<!here>` and `<!subteam^…>` never do.
NAMED = "U0EVIL"
PEOPLE = {ALICE, BOB, CAROL, MALLORY, NAMED}


def raw_at(limit: int) -> str:
    """Raw hostile text of exactly `limit` characters (ending in a letter, so trimming keeps them all)."""
    return (RAW * (limit // len(RAW) + 1))[: limit - 1] + "障"


def typed_at(limit: int, *, command: str) -> str:
    """Slash-command text (`<command> <text>`) whose free text is exactly `limit` characters once parsed."""
    each = len(_free_text(f"{command} {TYPED}障")) - 1  # one copy as parsed, its trailing space included
    copies = (limit - 1) // each
    typed = f"{command} {TYPED * copies}{'障' * (limit - copies * each)}"
    assert len(_free_text(typed)) == limit
    return typed


def _free_text(command: str) -> str:
    """The free text a command carries once parsed."""
    parsed = parse_command(
        command,
        severities=["SEV1", "SEV2", "SEV3", "SEV4"],
        roles=["lead", "comms"],
        now=datetime(2026, 1, 1, tzinfo=UTC),
        tz=ZoneInfo("UTC"),
        lang="en",
    )
    assert not isinstance(parsed, ParseError), parsed
    for field in ("title", "text", "message", "reason", "summary"):
        if isinstance(getattr(parsed, field, None), str):
            return str(getattr(parsed, field))
    raise AssertionError(f"{command[:40]!r} parsed as {parsed!r}")


def item_title(n: int) -> str:
    """A checklist item title at the playbook limit (150), markup, Japanese and bidi inside."""
    return (f"{n:02d} <!channel> 決済を確認 & *check* _logs_ ~now~ \u202e{n}\u202c <@U0EVIL> " + "x" * 150)[
        :150
    ]


@pytest.fixture
def hostile_playbooks(tmp_path: Path) -> Path:
    """One playbook for every incident: 50 required items with titles at the limit."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    items = [{"key": f"item-{n}", "title": item_title(n), "required": True} for n in range(50)]
    for item in items[:5]:
        item["due"] = "2h"  # a reminder naming them waits in Slack's scheduler
    title = ("<!here> 障害対応 & *runbook* \u2067rtl\u2069 " + "y" * 150)[:150]
    playbook = {"name": "hostile-" + "p" * 56, "title": title, "items": items}
    (folder / "hostile.yaml").write_text(yaml.safe_dump(playbook, allow_unicode=True), encoding="utf-8")
    shutil.copy(SHIPPED_PLAYBOOKS / "hashi-playbook.schema.json", folder)
    return folder


@pytest.fixture
async def hostile_hashi(tmp_path: Path, slack_spec: ApiSpec, hostile_playbooks: Path) -> AsyncIterator[Hashi]:
    """Hashi on SQLite with the hostile playbook."""
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'hashi.db'}",
        spec=slack_spec,
        playbooks_dir=str(hostile_playbooks),
        timezone="Asia/Tokyo",
    ) as hashi:
        yield hashi
        assert hashi.standin.rejections == [], "a Web API call broke Slack's published spec"


async def _room(hashi: Hashi, prefix: str) -> str:
    room = await hashi.eventually(lambda: hashi.channel_named(prefix), what=f"channel {prefix}")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()
    return str(room)


async def _opened(hashi: Hashi, before: int) -> dict[str, Any]:
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open")[before:], what="a modal")
    return dict(opened[0].response["view"])


def _checklist(hashi: Hashi, room: str) -> dict[str, Any]:
    for message in hashi.messages(room):
        if any(str(b.get("block_id", "")).startswith("hashi_checklist_") for b in message.get("blocks", [])):
            return message
    raise AssertionError("no checklist message")


async def _gate(hashi: Hashi, user: str, before: int) -> dict[str, Any]:
    """The newest "Resolve anyway" confirmation a user was shown (by response_url or chat.postEphemeral)."""

    def found() -> list[dict[str, Any]]:
        shown = [*hashi.standin.responses, *hashi.standin.ephemeral.get(user, [])]
        return [m for m in shown[before:] if Action.RESOLVE_ANYWAY in json.dumps(m)]

    return {"ts": "0", **(await hashi.eventually(found, what="the gate"))[-1]}


@pytest.mark.slow
async def test_a_hostile_incident_sends_only_what_slack_accepts(hostile_hashi: Hashi) -> None:
    hashi, d = hostile_hashi, hostile_hashi.driver
    title = typed_at(MAX_TITLE, command="declare SEV1")

    # Declare by command and by the modal.
    await d.command(title, user_id=ALICE, channel_id=GENERAL)
    room = await _room(hashi, "inc-1")
    await d.command("", user_id=BOB, channel_id=GENERAL)
    declare = await _opened(hashi, 0)
    services = ",".join(f"s{n:02d}<&*_~決" for n in range(39)) + ",<!here>\u202e"
    assert len(services) <= MAX_SERVICES
    values = {
        Block.TITLE: {Field.TITLE: input_value(raw_at(MAX_TITLE))},
        Block.SEVERITY: {Field.SEVERITY: select_value("SEV2")},
        Block.SERVICES: {Field.SERVICES: input_value(services)},
        Block.SUMMARY: {Field.SUMMARY: input_value(raw_at(MAX_TEXT))},
        Block.PRIVATE: {Field.PRIVATE: checkboxes_value([])},
        Block.DETECTED: {Field.DETECTED: input_value("10m ago")},
    }
    assert (await d.submit(user_id=BOB, view=declare, values=values)).body == ""
    second = await _room(hashi, "inc-2")

    # Notes, severity, status, lead and roles: by command (as Slack delivers it) and by the card.
    for text in (
        typed_at(MAX_TEXT, command="note"),
        typed_at(MAX_REASON, command="sev SEV2"),
        typed_at(MAX_TEXT, command="status identified"),
        f"lead <@{BOB}|{LONG_NAME}>",
        f"role comms <@{CAROL}|{'C' * 80}>",
        typed_at(MAX_TEXT, command="followup") + f" <@{CAROL}|{LONG_NAME}>",
        "ack",
    ):
        await d.command(text, user_id=ALICE, channel_id=room)
        await hashi.settle()
    before = len(hashi.standin.calls_to("views.open"))
    await d.click(user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.NOTE)
    note = await _opened(hashi, before)
    values = {Block.NOTE_TEXT: {Field.NOTE_TEXT: input_value(raw_at(MAX_TEXT))}}
    assert (await d.submit(user_id=BOB, view=note, values=values)).body == ""
    await d.click(
        user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.SEVERITY, value="SEV1"
    )
    await hashi.settle()
    await d.click(
        user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.STATUS, value="monitoring"
    )
    await hashi.settle()

    # Checklist ticks (a click on the pinned checklist), and the checklist shown.
    checklist = _checklist(hashi, room)
    groups = [b for b in checklist["blocks"] if b["type"] == "actions"]
    assert sum(len(b["elements"][0]["options"]) for b in groups) == 50
    first = groups[0]
    await d.click(
        user_id=CAROL,
        channel_id=room,
        message=checklist,
        action_id=Action.CHECKLIST,
        block_id=first["block_id"],
        values=[o["value"] for o in first["elements"][0]["options"][:3]],
    )
    await hashi.settle()
    for text in ("checklist", "list", "help", "stats 30d", "stats 30d service:s00&lt;&amp;*_~決"):
        await d.command(text, user_id=BOB, channel_id=room)
        await hashi.settle()

    # Resolve: the gate by command, Resolve anyway, reopen by the card; the gate by the modal, then reopen by
    # command.
    before = len(hashi.standin.responses)
    await d.command(typed_at(MAX_TEXT, command="resolve"), user_id=BOB, channel_id=room)
    gate = await _gate(hashi, BOB, before)
    await d.click(user_id=BOB, channel_id=room, message=gate, action_id=Action.RESOLVE_ANYWAY)
    await hashi.settle()
    assert (await hashi.runtime.service.snapshot(incident_id=1)).status.value == "resolved"
    card = await hashi.eventually(
        lambda: Action.REOPEN in json.dumps(hashi.card(room)) and hashi.card(room), what="the resolved card"
    )
    await d.click(user_id=ALICE, channel_id=room, message=card, action_id=Action.REOPEN)
    await hashi.settle()
    before_views = len(hashi.standin.calls_to("views.open"))
    card = await hashi.eventually(
        lambda: f'"{Action.RESOLVE}"' in json.dumps(hashi.card(room)) and hashi.card(room),
        what="the reopened card",
    )
    await d.click(user_id=ALICE, channel_id=room, message=card, action_id=Action.RESOLVE)
    resolve = await _opened(hashi, before_views)
    before = len(hashi.standin.ephemeral.get(ALICE, []))
    values = {Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value(raw_at(MAX_TEXT))}}
    assert (await d.submit(user_id=ALICE, view=resolve, values=values)).body == ""
    gate = await _gate(hashi, ALICE, len(hashi.standin.responses) + before)
    await d.click(user_id=ALICE, channel_id=room, message=gate, action_id=Action.RESOLVE_ANYWAY)
    await hashi.settle()
    await d.command("reopen", user_id=ALICE, channel_id=room)
    await hashi.settle()

    # The postmortem, the incidents elsewhere, and App Home.
    await d.command("postmortem", user_id=ALICE, channel_id=room)
    await d.command(typed_at(MAX_TEXT, command="note"), user_id=BOB, channel_id=second)
    await d.command("list", user_id=ALICE, channel_id=GENERAL)
    for user in (ALICE, BOB):
        await d.event(
            {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home", "event_ts": "1.2"}
        )
    await hashi.eventually(lambda: list(hashi.standin.files.values()), what="the postmortem upload")
    await hashi.eventually(lambda: len(hashi.standin.home_views) == 2, what="App Home")
    await hashi.settle()

    # What the record kept: every text whole, at its limit.
    first_incident = await hashi.runtime.service.snapshot(incident_id=1)
    assert len(first_incident.title) == MAX_TITLE
    assert sum(len(e.text) == MAX_TEXT for e in first_incident.timeline) >= 2
    second_incident = await hashi.runtime.service.snapshot(incident_id=2)
    assert len(second_incident.services) == 40 and len(second_incident.summary or "") == MAX_TEXT

    # Every message and view as Slack checks it; nothing that pings or reorders.
    methods = {c.method for c in hashi.standin.calls}
    assert methods >= {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage"}
    assert methods >= {"views.open", "views.publish"} and hashi.standin.responses
    problems = [f"{c.method}: {p}" for c in hashi.standin.calls for p in call_problems(c.method, c.args)]
    problems += [p for body in hashi.standin.responses for p in message_problems(body, "response_url")]
    assert problems == [], "\n".join(problems)
    people = PEOPLE | {hashi.standin.bot_user_id}
    sent = [(c.method, c.args) for c in hashi.standin.calls] + [
        ("response_url", b) for b in hashi.standin.responses
    ]
    unsafe = [f"{where}: {p}" for where, body in sent for p in unsafe_markup(body, people=people)]
    assert sorted(set(unsafe)) == [], "\n".join(sorted(set(unsafe)))
    shown = "\n".join(t for _, body in sent for t in strings(body))
    assert "&lt;!channel&gt;" in shown and "決済APIのエラー率上昇" in shown


async def test_the_gate_a_resolve_modal_posts_shows_item_titles_escaped(hostile_hashi: Hashi) -> None:
    hashi, d = hostile_hashi, hostile_hashi.driver
    await d.command("declare SEV2 Checkout errors", user_id=ALICE, channel_id=GENERAL)
    room = await _room(hashi, "inc-1")
    await d.click(user_id=ALICE, channel_id=room, message=hashi.card(room), action_id=Action.RESOLVE)
    resolve = await _opened(hashi, 0)
    values = {Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value("Fixed")}}
    await d.submit(user_id=ALICE, view=resolve, values=values)
    await _gate(hashi, ALICE, 0)
    posted = hashi.standin.calls_to("chat.postEphemeral")[-1].args
    assert "&lt;!channel&gt; 決済を確認" in posted["text"]
    assert unsafe_markup(posted, people=PEOPLE) == []
