"""A whole incident driven by a Japanese-speaking responder: everything Hashi tells her is Japanese.

Alice's Slack locale is ja-JP (the stand-in's users.info says so). In a workspace without a `language` in
hashi.toml she gets her own messages (replies, errors, modals, App Home) in Japanese while the channel speaks
the workspace's English; with `language = "ja"` everything, channel-wide messages and the uploaded postmortem
included, is Japanese.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import TeamConfig
from bot.slack.ids import Action, Block, Field
from standin.driver import Sent, checkboxes_value, input_value, select_value
from standin.harness import ALICE, ANNOUNCE, GENERAL, Hashi, running_hashi
from standin.spec import ApiSpec

# What a Japanese message may still contain in Latin letters: product names, codes, zones, typed forms.
_ALLOWED_WORDS = {
    "slack", "hashi", "pagerduty", "utc", "jst", "slo", "ack", "inc", "sev", "asia", "tokyo", "alice", "sato",
    "ago", "now", "lead", "comms", "scribe", "p50", "p90", "gantt", "markdown", "pm", "am",
    "api",  # the responder's own words (決済API)
    "statuspage", "github", "jira",  # the other tools' product names
}  # fmt: skip
_STRIP = re.compile(
    r"```.*?```"  # code blocks (the Mermaid chart's syntax)
    r"|`[^`]*`"  # code: commands and keywords are typed in English
    r"|<!--.*?-->"  # the draft's markers
    r"|<[@#!][^<>]*>"  # mentions, channels, date tokens
    r"|:[a-z0-9_+-]+:"  # emoji
    r"|https?://\S+"
    r"|\b[CGDUWT][A-Z0-9]{8,}\b"  # a Slack id (a channel's, in the postmortem)
    r"|/incident(?: [a-z]+)?"  # a command named in plain text (a channel purpose)
    r"|\b\d{4}-\d{2}-\d{2}\b",
    re.DOTALL,
)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def english_leftovers(text: str) -> list[str]:
    """Latin words of three letters or more a Japanese message should not have (keys, English fallbacks)."""
    rest = _STRIP.sub(" ", text)
    words = re.findall(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])", rest)  # `h30m`, `T05` are forms
    return [w for w in words if w.lower() not in _ALLOWED_WORDS]


def assert_japanese(texts: list[str], where: str) -> None:
    assert texts, f"nothing was said in {where}"
    for text in texts:
        assert english_leftovers(text) == [], f"{where}: English left in {text!r}"
        if len("".join(_STRIP.sub(" ", text).split())) > 12:  # prose, not a code or a mention alone
            assert _JAPANESE.search(text), f"{where}: not Japanese: {text!r}"


def strings(value: Any) -> list[str]:
    """Every text in a message, view or blocks (mrkdwn and plain_text alike)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("text", "topic", "purpose", "initial_comment") and isinstance(item, str):
                found.append(item)
            elif key not in ("value", "action_id", "block_id", "callback_id", "private_metadata", "url"):
                found += strings(item)
    elif isinstance(value, list):
        for item in value:
            found += strings(item)
    return found


@pytest.fixture
def japanese_playbooks(tmp_path: Path) -> Path:
    """The shipped Japanese playbook, as a Japanese team sets it up (its own folder, no `types` filter)."""
    shipped = Path(__file__).resolve().parents[2] / "playbooks"
    folder = tmp_path / "playbooks"
    folder.mkdir()
    text = (shipped / "sev-ja.yaml").read_text(encoding="utf-8")
    (folder / "sev-ja.yaml").write_text(text.replace("  types: [ja]\n", ""), encoding="utf-8")
    shutil.copy(shipped / "hashi-playbook.schema.json", folder)
    return folder


async def _running(tmp_path: Path, spec: ApiSpec, playbooks: Path, team: TeamConfig) -> AsyncIterator[Hashi]:
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'hashi.db'}",
        spec=spec,
        team=team,
        timezone="Asia/Tokyo",
        playbooks_dir=str(playbooks),
    ) as hashi:
        yield hashi
        assert hashi.standin.rejections == []


async def run_incident(hashi: Hashi) -> tuple[str, list[str]]:
    """Alice runs a whole incident from Slack; returns the room and everything said to her personally."""
    d = hashi.driver
    said: list[str] = []
    sent: list[Sent] = []

    sent.append(await d.command("help", user_id=ALICE, channel_id=GENERAL))
    sent.append(await d.command("sevv SEV1 何か", user_id=ALICE, channel_id=GENERAL))  # no such command
    sent.append(await d.command("declare SEV1 " + "長" * 151, user_id=ALICE, channel_id=GENERAL))  # too long
    sent.append(await d.command("note 何か", user_id=ALICE, channel_id=GENERAL))  # not an incident channel
    sent.append(await d.command("", user_id=ALICE, channel_id=GENERAL))
    opened = await hashi.eventually(lambda: hashi.standin.calls_to("views.open"), what="the declare modal")
    view = opened[0].response["view"]
    refused = await d.submit(
        user_id=ALICE,
        view=view,
        values={
            Block.TITLE: {Field.TITLE: input_value("  ")},
            Block.SEVERITY: {Field.SEVERITY: select_value("SEV1")},
            Block.DETECTED: {Field.DETECTED: input_value("きのう")},
        },
    )
    said += list(refused.json()["errors"].values())
    await d.submit(
        user_id=ALICE,
        view=view,
        values={
            Block.TITLE: {Field.TITLE: input_value("決済APIのエラー率上昇")},
            Block.SEVERITY: {Field.SEVERITY: select_value("SEV1")},
            Block.SERVICES: {Field.SERVICES: input_value("決済")},
            Block.SUMMARY: {Field.SUMMARY: input_value("決済APIの5xxが急増")},
            Block.PRIVATE: {Field.PRIVATE: checkboxes_value([])},
            Block.DETECTED: {Field.DETECTED: input_value("10m ago")},
        },
    )
    room = str(await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the incident channel"))
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()

    card = hashi.card(room)  # the card as shown, clicked twice (the second click may beat its update, or not)
    await d.click(user_id=ALICE, channel_id=room, message=card, action_id=Action.ACK)
    await d.click(user_id=ALICE, channel_id=room, message=card, action_id=Action.ACK)  # again
    sent.append(await d.command(f"lead <@{ALICE}|alice>", user_id=ALICE, channel_id=room))
    await d.click(
        user_id=ALICE, channel_id=room, message=hashi.card(room), action_id=Action.SEVERITY, value="SEV2"
    )
    sent.append(await d.command("sev SEV2 理由", user_id=ALICE, channel_id=room))  # already SEV2
    sent.append(await d.command("status identified at 25:00 設定ミス", user_id=ALICE, channel_id=room))
    sent.append(await d.command("status identified 設定ミスを特定", user_id=ALICE, channel_id=room))
    sent.append(await d.command("note at 5m ago 接続プールを拡張", user_id=ALICE, channel_id=room))
    sent.append(await d.command("followup 接続数のアラートを追加", user_id=ALICE, channel_id=room))
    sent.append(await d.command("checklist", user_id=ALICE, channel_id=room))
    sent.append(await d.command("list", user_id=ALICE, channel_id=room))
    sent.append(await d.command("stats 30d", user_id=ALICE, channel_id=room))
    sent.append(await d.command("playbook どれか", user_id=ALICE, channel_id=room))
    sent.append(await d.command("reopen", user_id=ALICE, channel_id=room))  # not resolved yet
    await d.event(
        {"type": "app_home_opened", "user": ALICE, "channel": "D1", "tab": "home", "event_ts": "1.2"}
    )
    await hashi.settle()

    await d.click(user_id=ALICE, channel_id=room, message=hashi.card(room), action_id=Action.NOTE)
    await hashi.eventually(lambda: len(hashi.standin.calls_to("views.open")) == 2, what="the note modal")
    note_view = hashi.standin.calls_to("views.open")[-1].response["view"]
    bad_time = await d.submit(
        user_id=ALICE,
        view=note_view,
        values={
            Block.NOTE_TEXT: {Field.NOTE_TEXT: input_value("エラー率が戻った")},
            Block.NOTE_AT: {Field.NOTE_AT: input_value("3000-01-01 10:00")},
        },
    )
    said += list(bad_time.json()["errors"].values())
    await d.click(user_id=ALICE, channel_id=room, message=hashi.card(room), action_id=Action.RESOLVE)
    await hashi.eventually(lambda: len(hashi.standin.calls_to("views.open")) == 3, what="the resolve modal")
    resolve_view = hashi.standin.calls_to("views.open")[-1].response["view"]
    await d.submit(
        user_id=ALICE,
        view=resolve_view,
        values={Block.RESOLVE_SUMMARY: {Field.RESOLVE_SUMMARY: input_value("プールを拡張して解消")}},
    )
    gate = await hashi.eventually(
        lambda: [m for m in hashi.standin.ephemeral.get(ALICE, []) if Action.RESOLVE_ANYWAY in json.dumps(m)],
        what="the gate confirmation",
    )
    await d.click(user_id=ALICE, channel_id=room, message=gate[-1], action_id=Action.RESOLVE_ANYWAY)
    await hashi.settle()
    await d.click(user_id=ALICE, channel_id=room, message=hashi.card(room), action_id=Action.EXPORT)
    await hashi.eventually(lambda: list(hashi.standin.files.values()), what="the postmortem upload")
    await hashi.settle()

    for answer in sent:
        said += [str(r.get("text", "")) for r in hashi.standin.responses_to(answer.response_url or "")]
    said += [t for r in hashi.standin.responses for t in strings(r.get("blocks", []))]
    said += [t for message in hashi.standin.ephemeral.get(ALICE, []) for t in strings(message)]
    said += [t for c in hashi.standin.calls_to("views.open") for t in strings(c.args.get("view"))]
    said += strings(hashi.standin.home_views[ALICE])
    said += [t for c in hashi.standin.calls_to("chat.postMessage") if c.args.get("channel") == ALICE
             for t in strings(c.args)]  # fmt: skip
    return room, said


def channel_texts(hashi: Hashi, room: str) -> list[str]:
    """Everything Hashi posted for the whole channel: card, change lines, checklist, topic, reminders…"""
    channel = hashi.standin.channels[room]
    texts = [t for m in channel.messages if m.get("user") == hashi.standin.bot_user_id for t in strings(m)]
    texts += [channel.topic, channel.purpose]
    texts += [s.text for s in hashi.standin.scheduled.values() if s.channel_id == room]
    return texts


async def test_a_japanese_user_is_answered_in_japanese(
    tmp_path: Path, slack_spec: ApiSpec, japanese_playbooks: Path
) -> None:
    async for hashi in _running(tmp_path, slack_spec, japanese_playbooks, TeamConfig()):
        room, said = await run_incident(hashi)
        assert len(said) > 40
        assert_japanese(said, "what Alice was told")
        # Help, errors and the usage lines were hers; the card is the channel's, in the workspace's English.
        assert any("コマンド一覧" in text for text in said)
        assert any("タイトルが 151 文字あります" in text for text in said)
        assert any(
            "書式: `/incident declare [SEV1|SEV2|SEV3|SEV4] [type:&lt;種別&gt;] &lt;タイトル&gt;`" in text
            for text in said
        )
        assert any("未来の時刻です" in text for text in said)
        card = json.dumps(hashi.card(room), ensure_ascii=False)
        assert "Severity" in card and "重大度" not in card
        snap = await hashi.runtime.service.snapshot(incident_id=1)
        assert snap.status.value == "resolved"


async def test_a_japanese_workspace_speaks_japanese_everywhere(
    tmp_path: Path, slack_spec: ApiSpec, japanese_playbooks: Path
) -> None:
    async for hashi in _running(tmp_path, slack_spec, japanese_playbooks, TeamConfig(language="ja")):
        room, said = await run_incident(hashi)
        in_channel = channel_texts(hashi, room)
        assert_japanese(said, "what Alice was told")
        assert_japanese(in_channel, "the incident channel")
        assert_japanese([t for m in hashi.messages(ANNOUNCE) for t in strings(m)], "the announcement")
        upload = next(iter(hashi.standin.files.values()))
        draft = upload.content.decode()
        assert_japanese([draft], "the postmortem draft")
        for heading in (
            "概要",
            "影響",
            "根本原因",
            "発生契機",
            "解決",
            "検知",
            "アクションアイテム",
            "教訓",
            "タイムライン",
            "補足情報",
        ):
            assert f"## {heading}\n" in draft
        assert "決済APIの5xxが急増" in draft and "接続プールを拡張" in draft
        # The timeline's system events are stored once and shown in Japanese; people's words as written.
        assert "重大度 SEV1 → SEV2" in draft and "ステータス 調査中 → 原因特定済み: 設定ミスを特定" in draft
        card = json.dumps(hashi.card(room), ensure_ascii=False)
        assert "解決済み" in card and "ポストモーテムを出力" in card
