"""Follow-ups become tickets in GitHub Issues or Jira, and a closed ticket closes its follow-up: signed Slack
requests and GitHub webhook deliveries to the real app, checked by what reached the vendors' stand-ins."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.cli.command import run
from bot.integrations.config import GithubConfig, IntegrationsConfig, JiraConfig
from bot.settings import TeamConfig
from standin.harness import ALICE, BOB, GENERAL, Hashi, running_hashi
from standin.spec import ApiSpec
from standin.vendors.github import GithubStandIn
from standin.vendors.jira import JiraStandIn
from tests.conftest import shared_path
from tests.e2e.test_security import _declare_private


@pytest.fixture
async def github() -> AsyncIterator[GithubStandIn]:
    """GitHub's Issues API on 127.0.0.1, checked against specs/github."""
    shared_path("specs", "github")
    standin = GithubStandIn.load(owner="acme", repo="ops")
    await standin.start()
    yield standin
    await standin.stop()
    assert standin.problems == [], "a call broke GitHub's published description"


@pytest.fixture
async def jira() -> AsyncIterator[JiraStandIn]:
    """Jira Cloud on 127.0.0.1, checked against specs/jira."""
    shared_path("specs", "jira")
    standin = JiraStandIn.load(project="OPS")
    await standin.start()
    yield standin
    await standin.stop()
    assert standin.problems == [], "a call broke Jira's published description"


def _github_env(github: GithubStandIn) -> dict[str, str]:
    return {
        "HASHI_GITHUB_TOKEN": github.token,
        "HASHI_GITHUB_WEBHOOK_SECRET": github.webhook_secret,
        "HASHI_GITHUB_API_URL": github.api_url,
    }


def _jira_env(jira: JiraStandIn) -> dict[str, str]:
    return {
        "HASHI_JIRA_EMAIL": jira.email,
        "HASHI_JIRA_TOKEN": jira.token,
        "HASHI_JIRA_API_URL": jira.api_url,
    }


@pytest.fixture
async def with_github(tmp_path: Path, slack_spec: ApiSpec, github: GithubStandIn) -> AsyncIterator[Hashi]:
    """Hashi filing follow-ups as issues in acme/ops."""
    team = TeamConfig(
        integrations=IntegrationsConfig(followups="github", github=GithubConfig(repo="acme/ops"))
    )
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'hashi.db'}",
        spec=slack_spec,
        team=team,
        environment=_github_env(github),
    ) as hashi:
        yield hashi
        assert hashi.standin.rejections == [], "a Web API call broke Slack's published spec"


async def _declare(hashi: Hashi, title: str = "Checkout errors") -> str:
    await hashi.driver.command(f"declare SEV2 {title}", user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()
    return str(room)


def _cli(monkeypatch: pytest.MonkeyPatch, hashi: Hashi, env: dict[str, str], *argv: str) -> int:
    """Runs `hashi …` against the same database and stand-ins (as an operator would beside `hashi serve`)."""
    monkeypatch.setenv("HASHI_DATABASE_URL", hashi.settings.env.database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", hashi.standin.bot_token)
    monkeypatch.setenv("HASHI_SLACK_API_URL", hashi.standin.api_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return run(list(argv))


async def _exported(
    monkeypatch: pytest.MonkeyPatch, hashi: Hashi, tmp_path: Path, env: dict[str, str]
) -> Any:
    out = tmp_path / "export.json"
    assert (
        await asyncio.to_thread(
            _cli, monkeypatch, hashi, env, "export", "1", "--format", "json", "-o", str(out)
        )
        == 0
    )
    return json.loads(out.read_text(encoding="utf-8"))


async def test_a_followup_files_an_issue_shows_its_link_and_closes_with_the_issue(
    with_github: Hashi, github: GithubStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashi = with_github
    room = await _declare(hashi)
    sent = await hashi.driver.command(
        "followup Page on queue depth, ask @octocat about #12 *now* <@U0BOB>", user_id=ALICE, channel_id=room
    )
    await hashi.settle()
    # One issue, its text escaped: no GitHub mention, issue link or emphasis smuggled in.
    assert list(github.issues) == [1]
    issue = github.issues[1]
    assert issue.title == "Page on queue depth, ask @octocat about #12 *now*"
    assert "@&#8203;octocat" in issue.body and "#&#8203;12" in issue.body and "\\*now\\*" in issue.body
    assert "INC-1" in issue.body and "U0BOB" in issue.body
    url = "https://github.com/acme/ops/issues/1"
    assert any(url in text for text in hashi.ephemeral_texts(sent.response_url)), "the link in the reply"
    assert any(url in m.get("text", "") for m in hashi.messages(room)), "the link in the channel"

    data = await _exported(monkeypatch, hashi, tmp_path, _github_env(github))
    assert data["followups"] == [
        {
            "text": "Page on queue depth, ask @octocat about #12 *now*",
            "owner": "U0BOB",
            "done": False,
            "status": "open",
            "ticket": "1",
            "url": url,
        }
    ]
    draft = tmp_path / "draft.md"
    env = _github_env(github)
    assert await asyncio.to_thread(_cli, monkeypatch, hashi, env, "export", "1", "-o", str(draft)) == 0
    assert f"| [1]({url}) |" in draft.read_text(encoding="utf-8"), "the Action Items table's Link column"

    # Closing the issue: a forged delivery is refused and changes nothing; the real one, delivered twice,
    # marks the follow-up done once.
    webhook = hashi.url.replace("/slack/events", "/integrations/github")
    body, headers = github.signed(github.close(1))
    forged_body, forged = github.signed(github.close(1), secret="not-the-secret")
    async with aiohttp.ClientSession() as http:
        assert await github.deliver(http, webhook, forged_body, forged) == 401
        assert await github.deliver(http, webhook, body, headers) == 200
        assert await github.deliver(http, webhook, body, headers) == 200
    await hashi.settle()
    data = await _exported(monkeypatch, hashi, tmp_path, env)
    assert (data["followups"][0]["done"], data["followups"][0]["status"]) == (True, "done")
    closings = [e for e in data["timeline"] if e["kind"] == "followup" and "closed" in e["text"]]
    assert len(closings) == 1
    assert sum("closed" in m.get("text", "") for m in hashi.messages(room)) == 1

    listed = await asyncio.to_thread(_stdout_of, monkeypatch, hashi, "followups", "list", "--format", "json")
    assert [(f["incident"], f["status"], f["url"], f["owner"], f["private"]) for f in listed] == [
        (1, "done", url, "U0BOB", False)
    ]
    assert (
        await asyncio.to_thread(
            _stdout_of, monkeypatch, hashi, "followups", "list", "--open", "--format", "json"
        )
        == []
    )


def _stdout_of(monkeypatch: pytest.MonkeyPatch, hashi: Hashi, *argv: str) -> Any:
    """What `hashi …` prints, as JSON."""
    monkeypatch.setenv("HASHI_DATABASE_URL", hashi.settings.env.database_url)
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(buffer):
        assert run(list(argv)) == 0
    buffer.seek(0)
    return json.loads(buffer.read())


async def test_a_tracker_that_is_down_loses_nothing_and_files_once(
    with_github: Hashi, github: GithubStandIn
) -> None:
    hashi = with_github
    room = await _declare(hashi)
    attempts = hashi.runtime.vendor_clients[0].retry.attempts
    github.fail_next(status=503, times=attempts)  # every try of the first filing
    sent = await hashi.driver.command("followup Add a runbook for the queue", user_id=BOB, channel_id=room)
    await hashi.eventually(
        lambda: any("as soon as GitHub answers" in t for t in hashi.ephemeral_texts(sent.response_url)),
        what="the reply saying the ticket is filed later",
    )
    assert github.issues == {}
    service = hashi.runtime.service
    # The repair pass at two replicas at once: the claim lets one of them file it.
    filed = await asyncio.gather(
        service.followups.file_pending_tickets(), service.followups.file_pending_tickets()
    )
    assert sorted(filed) == [0, 1]
    assert len(github.issues) == 1
    assert len(github.calls_to("POST", "/repos/{owner}/{repo}/issues")) == attempts + 1
    assert await service.followups.file_pending_tickets() == 0


async def test_a_private_incidents_ticket_says_nothing_private(
    with_github: Hashi, github: GithubStandIn
) -> None:
    hashi = with_github
    room = await _declare_private(hashi)
    await hashi.driver.command("followup Rotate the leaked vault key", user_id=ALICE, channel_id=room)
    await hashi.settle()
    issue = github.issues[1]
    text = issue.title + issue.body
    assert "vault" not in text.lower() and "Secret rotation" not in text and "INC-" not in issue.title
    assert "private incident" in issue.title


async def test_jira_issues_are_filed_and_sync_marks_done_what_jira_finished(
    tmp_path: Path, slack_spec: ApiSpec, jira: JiraStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = TeamConfig(
        integrations=IntegrationsConfig(
            followups="jira", jira=JiraConfig(url="https://acme.atlassian.net", project="OPS")
        )
    )
    env = _jira_env(jira)
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'hashi.db'}", spec=slack_spec, team=team, environment=env
    ) as hashi:
        room = await _declare(hashi)
        await hashi.driver.command("followup 監視を追加する <@U0BOB>", user_id=ALICE, channel_id=room)
        await hashi.eventually(lambda: jira.issues, what="the first issue")
        await hashi.driver.command("followup Write the postmortem", user_id=ALICE, channel_id=room)
        await hashi.eventually(lambda: len(jira.issues) == 2, what="the second issue")
        await hashi.settle()
        assert list(jira.issues) == ["OPS-1", "OPS-2"]
        fields = jira.issues["OPS-1"].fields
        assert fields["summary"] == "監視を追加する" and fields["description"]["type"] == "doc"
        jira.finish("OPS-1")
        config = tmp_path / "hashi.toml"
        config.write_text(
            '[integrations]\nfollowups = "jira"\n[integrations.jira]\n'
            'url = "https://acme.atlassian.net"\nproject = "OPS"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("HASHI_CONFIG", str(config))
        assert await asyncio.to_thread(_cli, monkeypatch, hashi, env, "followups", "sync") == 0
        data = await _exported(monkeypatch, hashi, tmp_path, env)
        assert [(f["ticket"], f["status"], f["url"]) for f in data["followups"]] == [
            ("OPS-1", "done", "https://acme.atlassian.net/browse/OPS-1"),
            ("OPS-2", "open", "https://acme.atlassian.net/browse/OPS-2"),
        ]
        # A second sync finds nothing more to do.
        assert await asyncio.to_thread(_cli, monkeypatch, hashi, env, "followups", "sync") == 0
        assert len([c for c in jira.calls if c.verb == "POST"]) == 2
        # An issue Jira no longer has: sync says so and exits 1, having checked the others.
        del jira.issues["OPS-2"]
        assert await asyncio.to_thread(_cli, monkeypatch, hashi, env, "followups", "sync") == 1
        assert hashi.standin.rejections == []


async def test_a_webhook_delivery_a_crash_left_unfinished_is_replayed_once(
    with_github: Hashi, github: GithubStandIn
) -> None:
    """Recorded before the answer: a delivery whose work a crash cut off is resumed from the inbox's record
    (as `hashi serve` does at start), and takes effect once."""
    from storage.inbox import Arrival

    hashi = with_github
    room = await _declare(hashi)
    await hashi.driver.command("followup Check the disk alerts", user_id=ALICE, channel_id=room)
    await hashi.eventually(lambda: github.issues, what="the issue")
    await hashi.settle()
    body, headers = github.signed(github.close(1))
    inbox = hashi.runtime.inbox
    new, _ = await inbox.deliveries.record(
        Arrival(delivery_id=f"github:{headers['X-GitHub-Delivery']}", kind="github", body=body.decode())
    )
    assert new and await inbox.deliveries.pending_count() == 1  # recorded; the crash came before its work
    assert await inbox.resume(mine_since=hashi.runtime.clock.now()) == 1
    assert await inbox.deliveries.pending_count() == 0
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert [f.status for f in snap.followups] == ["done"]
    # GitHub redelivering it changes nothing more.
    async with aiohttp.ClientSession() as http:
        webhook = hashi.url.replace("/slack/events", "/integrations/github")
        assert await github.deliver(http, webhook, body, headers) == 200
    await hashi.settle()
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert sum(e.kind == "followup" and "closed" in e.text for e in snap.timeline) == 1


async def test_hashi_serve_takes_githubs_webhook(
    tmp_path: Path, slack_spec: ApiSpec, github: GithubStandIn
) -> None:
    """`hashi serve` (a real process) serves POST /integrations/github beside /slack/events, and files
    tickets in the background of a follow-up."""
    from standin.harness import populate
    from standin.server import SlackStandIn
    from tests.e2e.serving import free_port, serve, until

    standin = SlackStandIn(spec=slack_spec)
    await standin.start()
    populate(standin)
    served = await serve(
        standin,
        database_url=f"sqlite:///{tmp_path / 'serve.db'}",
        workdir=tmp_path,
        port=free_port(),
        secret="serve-test-secret",
        config='[integrations]\nfollowups = "github"\n[integrations.github]\nrepo = "acme/ops"\n',
        extra_env=_github_env(github),
    )
    try:
        async with aiohttp.ClientSession() as http:
            await served.wait_healthy(http)
            await served.command(
                http, standin, "declare SEV2 Served with GitHub", user=ALICE, channel=GENERAL
            )
            await until(lambda: any(c.pins for c in standin.channels.values()), within=10, what="the room")
            room = next(c.id for c in standin.channels.values() if c.name.startswith("inc-1-"))
            await served.command(http, standin, "followup Tune the alert", user=ALICE, channel=room)
            await until(lambda: github.issues, within=10, what="the issue")
            body, headers = github.signed(github.close(1))
            _, forged = github.signed(github.close(1), secret="wrong")
            webhook = f"{served.base}/integrations/github"
            assert await github.deliver(http, webhook, body, forged) == 401
            assert await github.deliver(http, webhook, body, headers) == 200
            await until(
                lambda: any("closed" in m.get("text", "") for m in standin.channels[room].messages),
                within=10,
                what="the follow-up done in the channel",
            )
    finally:
        code, stderr = await served.stop()
        await standin.stop()
    assert code == 0, stderr
