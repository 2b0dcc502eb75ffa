"""The incident record a team can shape and trust, through signed Slack requests: any stats window, and a
postmortem template the team owns (timeline editing: test_timeline_editing.py)."""

from __future__ import annotations

from pathlib import Path

from bot.settings import TeamConfig
from standin.harness import ALICE, BOB, GENERAL, Hashi, running_hashi
from standin.spec import ApiSpec


async def _reply(hashi: Hashi, text: str, user: str, channel: str) -> str:
    sent = await hashi.driver.command(text, user_id=user, channel_id=channel)
    replies = await hashi.eventually(lambda: hashi.standin.responses_to(sent.response_url or ""), what=text)
    assert len(replies) == 1, replies
    assert replies[0].get("response_type", "ephemeral") == "ephemeral"
    return str(replies[0]["text"])


async def test_stats_over_an_absolute_window_and_all(hashi: Hashi) -> None:
    await hashi.driver.command("declare SEV2 Checkout errors", user_id=ALICE, channel_id=GENERAL)
    await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
    await hashi.settle()
    now = hashi.runtime.clock.now()
    this_year = f"{now.year}-01-01..{now.year + 1}-01-01"
    # Bob's dates are midnights in New York; Alice's in Tokyo, in Japanese.
    inside = await _reply(hashi, f"stats {this_year}", BOB, GENERAL)
    assert f"{now.year}-01-01 00:00 EST →" in inside and "by severity: 1" in inside
    assert "SEV2: 1 incident" in inside
    japanese = await _reply(hashi, f"stats {this_year}", ALICE, GENERAL)
    assert f"{now.year}年1月1日 00:00 JST →" in japanese and "SEV2: 1 件" in japanese
    before = await _reply(hashi, f"stats {now.year - 1}-07-01..{now.year - 1}-10-01", BOB, GENERAL)
    assert "by severity: 0" in before
    everything = await _reply(hashi, "stats all", BOB, GENERAL)
    assert "SEV2: 1 incident" in everything
    long = await _reply(hashi, "stats 5000d", BOB, GENERAL)
    assert "last 5000d" in long and "SEV2: 1 incident" in long
    # A window that ends before it starts is refused, with the right form.
    backwards = await _reply(hashi, "stats 2026-10-01..2026-07-01", BOB, GENERAL)
    assert "before it starts" in backwards and "2026-07-01..2026-10-01" in backwards
    assert "/incident stats" in backwards


# A postmortem template the team owns, uploaded by `/incident postmortem`.

TEAM_TEMPLATE = "\n\n".join(
    [
        "{{title}}",
        "## 何が起きたか",
        "{{summary}}",
        "## 経緯",
        "{{timeline}}",
        "## 振り返り",
        "_記入してください_\n",
    ]
)


async def test_the_uploaded_postmortem_follows_the_team_template(tmp_path: Path, slack_spec: ApiSpec) -> None:
    team = TeamConfig.model_validate({"language": "ja"})
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'h.db'}",
        spec=slack_spec,
        team=team,
        postmortem_template=TEAM_TEMPLATE,
    ) as hashi:
        await hashi.driver.command("declare SEV3 決済エラー", user_id=BOB, channel_id=GENERAL)
        room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the channel")
        await hashi.settle()
        await hashi.driver.command("note ロールバック開始", user_id=BOB, channel_id=room)
        await hashi.driver.command("postmortem", user_id=BOB, channel_id=room)
        upload = await hashi.eventually(
            lambda: [f for f in hashi.standin.files.values() if f.completed], what="the upload"
        )
        draft = upload[0].content.decode()
        assert [line for line in draft.splitlines() if line.startswith("#")] == [
            "# INC-1: 決済エラー",
            "## 何が起きたか",
            "## 経緯",
            "## 振り返り",
        ]
        assert (
            "ロールバック開始" in draft
            and "_記入してください_" in draft
            and "<!-- hashi:begin timeline -->" in draft
        )
        assert hashi.standin.rejections == []
