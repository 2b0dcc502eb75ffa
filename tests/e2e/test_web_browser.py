"""The web dashboard in headless Chromium (Debian's `chromium`, driven by Playwright): sign in with Slack
through the stand-in, open an incident, check what is shown and that a private incident is not, and save a
screenshot of each page (into HASHI_SCREENSHOT_DIR when set, e.g. docs/screenshots for the README)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import TeamConfig
from standin.harness import ALICE, BOB, CAROL, GENERAL, Hashi, running_hashi
from standin.spec import ApiSpec
from tests.e2e.test_security import _declare_in_modal

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="headless browser tests need Debian's chromium (apt-get install chromium; .ci/run installs it)",
)
playwright = pytest.importorskip("playwright.async_api", reason="Playwright for Python is not installed")

TEAM = TeamConfig.model_validate(
    {"services": {"checkout": {"slo": 99.9}, "search": {"slo": 99.5}, "payments": {"slo": 99.95}}}
)


@pytest.fixture
async def web(tmp_path: Path, slack_spec: ApiSpec) -> AsyncIterator[Hashi]:
    """Hashi with Sign in with Slack set up, and a few incidents worked through Slack."""
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'browser.db'}", spec=slack_spec, team=TEAM, sign_in=True
    ) as hashi:
        await _declare_in_modal(hashi, "Checkout 500s after deploy", services="checkout", private=False)
        room = hashi.channel_named("inc-1-")
        assert room is not None
        for text in (
            "impact start 2h ago",
            "detected 1h40m ago",
            "ack at 1h30m ago",
            "status identified at 1h ago bad config in release 2026.12.1",
            "note at 50m ago rolled back to 2026.11.30 on all pods",
            "status monitoring at 30m ago",
            "followup add a canary stage for config changes",
        ):
            await hashi.driver.command(text, user_id=BOB, channel_id=room)
            await hashi.settle()
        await hashi.driver.command("declare SEV3 Search index lagging", user_id=CAROL, channel_id=GENERAL)
        await hashi.settle()
        search = hashi.channel_named("inc-2-")
        assert search is not None
        for text in ("impact start 5h ago", "ack at 4h ago", "resolve at 1h ago reindexed the shard"):
            await hashi.driver.command(text, user_id=CAROL, channel_id=search)
            await hashi.settle()
        await _declare_in_modal(hashi, "Secret rotation leak", services="vault", private=True)
        await hashi.settle()
        yield hashi
        assert hashi.standin.rejections == []


def _shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("HASHI_SCREENSHOT_DIR") or tmp_path)


async def test_sign_in_open_an_incident_and_never_see_a_private_one(web: Hashi, tmp_path: Path) -> None:
    shots = _shots(tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(
                viewport={"width": 1100, "height": 760}, locale="en-GB", device_scale_factor=1
            )
            page = await context.new_page()
            refused: list[str] = []  # anything the Content-Security-Policy blocked
            page.on(
                "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
            )

            await page.goto(f"{web.base}/incidents/1")
            await page.click("#sign-in-with-slack")
            await page.click(f"#as-{CAROL}")  # the stand-in's Slack sign-in page
            await page.wait_for_url(f"{web.base}/incidents/1")
            assert "Checkout 500s after deploy" in await page.inner_text("#incident-title")
            assert "Monitoring" in await page.inner_text(".facts")
            timeline = await page.inner_text("#timeline")
            assert "rolled back to 2026.11.30 on all pods" in timeline
            assert "GMT" in timeline and "UTC" in timeline  # Carol's Slack zone, and UTC
            assert "add a canary stage for config changes" in await page.inner_text("#followups")
            await page.screenshot(path=str(shots / "incident.png"))
            await page.click("#open-postmortem")
            await page.wait_for_url(f"{web.base}/incidents/1/postmortem")
            assert await page.locator("#postmortem svg.gantt rect.bar").count() >= 3
            await page.screenshot(path=str(shots / "postmortem.png"))

            await page.click("text=Incidents")
            await page.wait_for_url(f"{web.base}/incidents")
            listing = await page.inner_text("table.incidents")
            assert "Search index lagging" in listing and "Checkout 500s after deploy" in listing
            assert "Secret rotation leak" not in await page.content()
            first = await page.inner_text("table.incidents tbody tr:first-child")
            assert "Checkout 500s after deploy" in first  # open incidents first
            await page.screenshot(path=str(shots / "incidents.png"))

            await page.goto(f"{web.base}/incidents/3")
            assert "There is no incident 3, or you may not see it." in await page.inner_text("main")

            await page.click("text=Reliability")
            await page.wait_for_url(f"{web.base}/reliability")
            assert "3 incidents started in the last 30d." in await page.inner_text("#count")
            assert await page.locator("svg.chart").count() == 5
            assert "vault" not in await page.content()
            await page.screenshot(path=str(shots / "reliability.png"), full_page=True)
            assert refused == []
        finally:
            await browser.close()


async def test_a_member_sees_the_private_incident_in_japanese(web: Hashi, tmp_path: Path) -> None:
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(locale="ja-JP", viewport={"width": 1100, "height": 760})
            page = await context.new_page()
            await page.goto(f"{web.base}/incidents")
            await page.click("#sign-in-with-slack")
            await page.click(f"#as-{ALICE}")
            await page.wait_for_url(f"{web.base}/incidents")
            assert "Secret rotation leak" in await page.inner_text("table.incidents")
            assert "非公開" in await page.inner_text("table.incidents")
            await page.click("text=Secret rotation leak")
            await page.wait_for_url(f"{web.base}/incidents/3")
            assert "タイムライン" in await page.inner_text("#timeline")
            assert "JST" in await page.inner_text("#timeline")  # Alice's Slack zone is Asia/Tokyo
            await page.screenshot(path=str(_shots(tmp_path) / "incident-ja.png"))
        finally:
            await browser.close()
