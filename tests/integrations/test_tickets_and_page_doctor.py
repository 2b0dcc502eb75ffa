"""`hashi doctor` checks GitHub, Jira and Statuspage (reachable, token taken); `hashi followups` refuses
clearly without a tracker. Subprocesses against the vendors' stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from standin.vendors.github import GithubStandIn
from standin.vendors.jira import JiraStandIn
from standin.vendors.statuspage import StatuspageStandIn
from tests.conftest import shared_path
from tests.test_cli import assert_one_line_error, hashi

TOML = (
    '[integrations]\nfollowups = "github"\n[integrations.github]\nrepo = "acme/ops"\n'
    '[integrations.jira]\nurl = "https://acme.atlassian.net"\nproject = "OPS"\n'
    '[integrations.statuspage]\npage_id = "pg1"\n[integrations.statuspage.components]\ncheckout = "cmp1"\n'
)


@pytest.fixture
async def vendors() -> AsyncIterator[tuple[GithubStandIn, JiraStandIn, StatuspageStandIn]]:
    for vendor in ("github", "jira", "statuspage"):
        shared_path("specs", vendor)
    github, jira, page = GithubStandIn.load(), JiraStandIn.load(), StatuspageStandIn.load(page_id="pg1")
    page.add_component("cmp1", "Checkout")
    for standin in (github, jira, page):
        await standin.start()
    yield github, jira, page
    for standin in (github, jira, page):
        await standin.stop()
        assert standin.problems == []


async def test_doctor_checks_each_tracker_and_the_status_page(
    tmp_path: Path, vendors: tuple[GithubStandIn, JiraStandIn, StatuspageStandIn]
) -> None:
    github, jira, page = vendors
    config = tmp_path / "hashi.toml"
    config.write_text(TOML, encoding="utf-8")
    env = {
        "HASHI_GITHUB_TOKEN": github.token,
        "HASHI_GITHUB_WEBHOOK_SECRET": github.webhook_secret,
        "HASHI_GITHUB_API_URL": github.api_url,
        "HASHI_JIRA_EMAIL": jira.email,
        "HASHI_JIRA_TOKEN": jira.token,
        "HASHI_JIRA_API_URL": jira.api_url,
        "HASHI_STATUSPAGE_API_KEY": page.api_key,
        "HASHI_STATUSPAGE_API_URL": page.api_url,
    }

    def line(out: str, name: str) -> str:
        return next(x for x in out.splitlines() if f"integration {name}" in x)

    fine = await hashi("doctor", cwd=tmp_path, config=config, env=env)
    for name in ("github", "jira", "statuspage"):
        assert line(fine.out, name).startswith("✓"), fine.out
    assert "page pg1 has 1 components" in line(fine.out, "statuspage")
    refused = await hashi(
        "doctor",
        cwd=tmp_path,
        config=config,
        env={
            **env,
            "HASHI_GITHUB_TOKEN": "wrong",
            "HASHI_JIRA_TOKEN": "wrong",
            "HASHI_STATUSPAGE_API_KEY": "no",
        },
    )
    assert refused.code == 1
    assert "HASHI_GITHUB_TOKEN" in line(refused.out, "github") and line(refused.out, "github").startswith("✗")
    assert "HASHI_JIRA_TOKEN" in line(refused.out, "jira")
    assert "HASHI_STATUSPAGE_API_KEY" in line(refused.out, "statuspage")
    await jira.stop()
    down = await hashi("doctor", cwd=tmp_path, config=config, env=env)
    assert "down or unreachable" in line(down.out, "jira")


async def test_followups_sync_without_a_tracker_is_one_line(tmp_path: Path) -> None:
    result = await hashi(
        "followups", "sync", cwd=tmp_path, env={"HASHI_DATABASE_URL": f"sqlite:///{tmp_path}/h.db"}
    )
    assert_one_line_error(result, 2, "followups", "github")
