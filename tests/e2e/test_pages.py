"""Pages out: declarations, acknowledgements and resolutions in Slack (signed requests to the real app) and
`/incident page` reach the PagerDuty stand-in as Events API v2 calls that fit PagerDuty's description."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.integrations.config import IntegrationsConfig, PagerdutyConfig
from bot.reports.export import export_json
from bot.settings import TeamConfig
from standin.harness import ALICE, BOB, GENERAL, Hashi, running_hashi
from standin.spec import ApiSpec
from standin.vendors.pagerduty import PagerdutyStandIn

TEAM = TeamConfig(
    integrations=IntegrationsConfig(pagerduty=PagerdutyConfig(severities=("SEV1",), services=("checkout",)))
)


@pytest.fixture
async def paged(
    database_url: str, slack_spec: ApiSpec, pagerduty: PagerdutyStandIn, tmp_path: Path
) -> AsyncIterator[tuple[Hashi, PagerdutyStandIn]]:
    """Hashi with PagerDuty configured (no playbooks: resolving needs no checklist), on both databases."""
    async for running in _paged(database_url, slack_spec, pagerduty, tmp_path):
        yield running


@pytest.fixture
async def paged_on_sqlite(
    slack_spec: ApiSpec, pagerduty: PagerdutyStandIn, tmp_path: Path
) -> AsyncIterator[tuple[Hashi, PagerdutyStandIn]]:
    """The same on SQLite only (for a test that waits out a retry)."""
    async for running in _paged(f"sqlite:///{tmp_path / 'hashi.db'}", slack_spec, pagerduty, tmp_path):
        yield running


async def _paged(
    database_url: str, slack_spec: ApiSpec, pagerduty: PagerdutyStandIn, tmp_path: Path
) -> AsyncIterator[tuple[Hashi, PagerdutyStandIn]]:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    async with running_hashi(
        database_url=database_url,
        spec=slack_spec,
        team=TEAM,
        playbooks_dir=str(playbooks),
        environment={
            "HASHI_PAGERDUTY_API_URL": pagerduty.api_url,
            "HASHI_PAGERDUTY_ROUTING_KEY": pagerduty.routing_key,
        },
    ) as hashi:
        yield hashi, pagerduty
        assert hashi.standin.rejections == [], "a Web API call broke Slack's published spec"
    assert pagerduty.problems == [], "a call broke PagerDuty's published description"


async def _declare(hashi: Hashi, text: str) -> str:
    sent = await hashi.driver.command(f"declare {text}", user_id=ALICE, channel_id=GENERAL)
    assert sent.status == 200
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the incident's channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    return str(room)


async def _pages(hashi: Hashi) -> list[dict[str, Any]]:
    await hashi.runtime.service.paging.idle()
    return list(export_json(await hashi.runtime.service.snapshot(incident_id=1)).get("pages", []))


async def test_a_sev1_pages_and_the_pager_follows_slack(paged: tuple[Hashi, PagerdutyStandIn]) -> None:
    hashi, pagerduty = paged
    room = await _declare(hashi, "SEV1 Checkout is down")
    await hashi.eventually(lambda: pagerduty.events("trigger"), within=10.0, what="the trigger")
    trigger = pagerduty.events("trigger")[0]
    assert trigger["dedup_key"] == "hashi-inc-1"
    assert trigger["payload"]["summary"] == "INC-1 [SEV1] Checkout is down"
    assert trigger["payload"]["severity"] == "critical"
    await hashi.eventually(
        lambda: "PagerDuty paged (1)" in " ".join(str(b) for b in hashi.card(room)["blocks"]),
        within=10.0,
        what="the card to say PagerDuty was paged",
    )

    await hashi.driver.command("ack", user_id=BOB, channel_id=room)
    await hashi.eventually(lambda: pagerduty.events("acknowledge"), within=10.0, what="the acknowledge")
    await hashi.driver.command("resolve Rolled back", user_id=BOB, channel_id=room)
    await hashi.eventually(lambda: pagerduty.events("resolve"), within=10.0, what="the resolve")
    assert pagerduty.alerts["hashi-inc-1"].status == "resolved"
    assert [e["event_action"] for e in pagerduty.events()] == ["trigger", "acknowledge", "resolve"]

    pages = await _pages(hashi)
    assert [(p["action"], p["target"], p["status"]) for p in pages] == [
        ("trigger", "severity:SEV1", "sent"),
        ("acknowledge", "severity:SEV1", "sent"),
        ("resolve", "severity:SEV1", "sent"),
    ]
    assert all(p["dedup_key"] == "hashi-inc-1" and p["sent_at"] for p in pages)
    await hashi.settle()
    card = " ".join(str(b) for b in hashi.card(room)["blocks"])
    assert "PagerDuty paged (1)" in card


async def test_page_on_demand_and_what_is_refused(paged: tuple[Hashi, PagerdutyStandIn]) -> None:
    hashi, pagerduty = paged
    room = await _declare(hashi, "SEV3 Search is slow")
    await hashi.settle()
    assert pagerduty.calls == []  # SEV3, no paged service: nobody is woken
    await hashi.driver.command("page <@U0BOB|bob>", user_id=ALICE, channel_id=room)
    await hashi.driver.command("page search-api", user_id=ALICE, channel_id=room)
    await hashi.eventually(lambda: len(pagerduty.events("trigger")) == 2, within=10.0, what="two triggers")
    keys = sorted(e["dedup_key"] for e in pagerduty.events("trigger"))
    assert keys == ["hashi-inc-1-service:search-api", "hashi-inc-1-user:U0BOB"]
    by_user = next(e for e in pagerduty.events("trigger") if "user" in e["dedup_key"])
    assert by_user["payload"]["custom_details"]["page_user"] == "U0BOB"
    assert by_user["payload"]["custom_details"]["requested_by"] == ALICE

    # Raised to SEV1 (a severity that pages), it pages as a SEV1 declaration would, once.
    await hashi.driver.command("sev SEV1 Spreading", user_id=ALICE, channel_id=room)
    await hashi.driver.command("sev SEV2", user_id=ALICE, channel_id=room)
    await hashi.driver.command("sev SEV1", user_id=ALICE, channel_id=room)
    await hashi.eventually(lambda: len(pagerduty.events("trigger")) == 3, what="the severity's trigger")
    await hashi.settle()
    assert [e["dedup_key"] for e in pagerduty.events("trigger")].count("hashi-inc-1") == 1

    bad = await hashi.driver.command("page !!!", user_id=ALICE, channel_id=room)
    nobody = await hashi.driver.command("page", user_id=ALICE, channel_id=room)
    await hashi.settle()
    assert "メンションでもサービス名でもありません" in " ".join(hashi.ephemeral_texts(bad.response_url))
    assert "誰を呼び出しますか" in " ".join(hashi.ephemeral_texts(nobody.response_url))
    assert len(pagerduty.events()) == 3
    timeline = export_json(await hashi.runtime.service.snapshot(incident_id=1))["timeline"]
    assert sorted(e["text"] for e in timeline if e["kind"] == "page") == [
        "Paged <@U0BOB> through PagerDuty",
        "Paged the on-call of search-api through PagerDuty",
    ]


@pytest.mark.slow
async def test_a_failing_pager_never_delays_slack_nor_loses_the_incident(
    paged_on_sqlite: tuple[Hashi, PagerdutyStandIn],
) -> None:
    hashi, pagerduty = paged_on_sqlite
    pagerduty.fail_next(status=503, times=4)  # every attempt of the first send
    started = time.monotonic()
    sent = await hashi.driver.command("declare SEV2 Checkout errors", user_id=ALICE, channel_id=GENERAL)
    assert sent.status == 200 and time.monotonic() - started < 1.0
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the incident's channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    # SEV2 pages nobody by severity; the checkout service does (the declare modal sets services; here,
    # the paged service is named on demand).
    started = time.monotonic()
    sent = await hashi.driver.command("page checkout", user_id=ALICE, channel_id=room)
    assert sent.status == 200 and time.monotonic() - started < 1.0
    await hashi.eventually(lambda: len(pagerduty.calls) == 4, within=10.0, what="four attempts")
    pages = await _pages(hashi)
    assert [(p["status"], p["attempts"]) for p in pages] == [("pending", 1)]
    assert pages[0]["error"].startswith("HTTP 503")
    await hashi.settle()
    card = " ".join(str(b) for b in hashi.card(room)["blocks"])
    assert "PagerDuty trigger failed, retrying: HTTP 503" in card
    # The next pass after the wait sends it; the card stops warning.
    retry_at = await _next_attempt_at(hashi)
    await hashi.eventually(lambda: datetime.now(UTC) > retry_at, within=15.0, what="the retry to fall due")
    assert await hashi.runtime.service.send_due_pages() == 1
    pages = await _pages(hashi)
    assert [(p["status"], p["attempts"]) for p in pages] == [("sent", 2)]
    await hashi.settle()
    card = " ".join(str(b) for b in hashi.card(room)["blocks"])
    assert "failed" not in card and "PagerDuty paged (1)" in card
    assert [c.status for c in pagerduty.calls] == [503, 503, 503, 503, 202]


async def _next_attempt_at(hashi: Hashi) -> datetime:
    """When the pending page is to be tried again, as recorded: RETRY_BASE after its first send's attempts
    ended (which under load may be well after it was requested)."""
    async with hashi.runtime.store.transaction() as repo:
        (page,) = await repo.pages(incident_id=1)
    assert page.status == "pending" and page.next_attempt_at is not None
    return page.next_attempt_at


async def test_a_private_incidents_page_says_nothing_private(paged: tuple[Hashi, PagerdutyStandIn]) -> None:
    hashi, pagerduty = paged
    await hashi.runtime.service.declare(
        title="Payroll export leaked", actor=ALICE, severity="SEV1", services=["payroll"], private=True
    )
    await hashi.eventually(lambda: pagerduty.events("trigger"), within=10.0, what="the trigger")
    trigger = pagerduty.events("trigger")[0]
    assert trigger["payload"]["summary"] == "INC-1 [SEV1] private incident"
    assert "payroll" not in json.dumps(trigger).lower() and "leaked" not in json.dumps(trigger)


async def test_paging_without_pagerduty_says_how_to_set_it_up(hashi: Hashi) -> None:
    room = await _declare(hashi, "SEV2 Queue stuck")
    sent = await hashi.driver.command("page checkout", user_id=BOB, channel_id=room)
    await hashi.settle()
    assert "[integrations.pagerduty]" in " ".join(hashi.ephemeral_texts(sent.response_url))
    timeline = export_json(await hashi.runtime.service.snapshot(incident_id=1))["timeline"]
    assert not [e for e in timeline if e["kind"] == "page"]
