"""The public status page follows an incident the lead published: signed Slack requests to the real app,
checked by what reached the Statuspage stand-in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.integrations.config import IntegrationsConfig, StatuspageConfig
from bot.reports.export import export_json
from bot.settings import TeamConfig
from bot.slack.ids import Action, Block
from standin.harness import ALICE, BOB, Hashi, running_hashi
from standin.spec import ApiSpec
from standin.vendors.statuspage import StatuspageStandIn
from tests.conftest import shared_path
from tests.e2e.test_security import _declare_in_modal


@pytest.fixture
async def statuspage() -> AsyncIterator[StatuspageStandIn]:
    """Statuspage on 127.0.0.1 with a checkout and a search component, checked against specs/statuspage."""
    shared_path("specs", "statuspage")
    standin = StatuspageStandIn.load(page_id="pg1")
    standin.add_component("cmpcheckout", "Checkout")
    standin.add_component("cmpsearch", "Search")
    await standin.start()
    yield standin
    await standin.stop()
    assert standin.problems == [], "a call broke Statuspage's published description"


@pytest.fixture
async def hashi(tmp_path: Path, slack_spec: ApiSpec, statuspage: StatuspageStandIn) -> AsyncIterator[Hashi]:
    """Hashi with checkout and search on the status page (payments has no component)."""
    page = StatuspageConfig(page_id="pg1", components={"checkout": "cmpcheckout", "search": "cmpsearch"})
    team = TeamConfig(integrations=IntegrationsConfig(statuspage=page))
    environment = {
        "HASHI_STATUSPAGE_API_KEY": statuspage.api_key,
        "HASHI_STATUSPAGE_API_URL": statuspage.api_url,
    }
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'hashi.db'}", spec=slack_spec, team=team, environment=environment
    ) as running:
        yield running
        assert running.standin.rejections == [], "a Web API call broke Slack's published spec"


async def _say(hashi: Hashi, text: str, user: str, room: str) -> list[str]:
    """What the user is told back (ephemeral) for a command."""
    sent = await hashi.driver.command(text, user_id=user, channel_id=room)
    said = await hashi.eventually(lambda: hashi.ephemeral_texts(sent.response_url), what="the reply")
    await hashi.settle()
    return list(said)


async def _confirmation(hashi: Hashi, text: str, user: str, room: str) -> dict[str, Any]:
    """The status page confirmation a status command answers with."""
    before = len(hashi.standin.responses)
    await hashi.driver.command(text, user_id=user, channel_id=room)

    def found() -> list[dict[str, Any]]:
        return [m for m in hashi.standin.responses[before:] if Action.STATUSPAGE_UPDATE in json.dumps(m)]

    return {"ts": "0", **(await hashi.eventually(found, what="the confirmation"))[-1]}


async def _clicked_into_confirmation(
    hashi: Hashi, gate: dict[str, Any], user: str, room: str
) -> dict[str, Any]:
    """Clicks "Resolve anyway"; returns the status page confirmation it answers with."""
    before = len(hashi.standin.responses)
    await hashi.driver.click(user_id=user, channel_id=room, message=gate, action_id=Action.RESOLVE_ANYWAY)
    shown = await hashi.eventually(
        lambda: [m for m in hashi.standin.responses[before:] if Action.STATUSPAGE_UPDATE in json.dumps(m)],
        what="the confirmation",
    )
    return {"ts": "0", **shown[-1]}


def _edited(message: dict[str, Any], text: str) -> dict[str, Any]:
    """The confirmation with its message input edited, as the user would before clicking."""
    for block in message["blocks"]:
        if block.get("block_id") == Block.STATUSPAGE_MESSAGE:
            block["element"]["initial_value"] = text
    return message


async def test_publish_update_after_confirmation_and_resolve_restores_the_components(
    hashi: Hashi, statuspage: StatuspageStandIn
) -> None:
    room = await _declare_in_modal(hashi, "Slow checkouts", services="checkout, payments", private=False)
    said = await _say(hashi, "statuspage publish We are investigating slow checkouts.", ALICE, room)
    assert len(statuspage.incidents) == 1
    (public,) = statuspage.incidents.values()
    assert (public.name, public.status, public.components) == (
        "Slow checkouts",
        "investigating",
        ["cmpcheckout"],
    )
    assert statuspage.components["cmpcheckout"]["status"] == "major_outage"  # SEV1
    assert statuspage.components["cmpsearch"]["status"] == "operational"
    assert public.updates[0]["body"] == "We are investigating slow checkouts."
    assert any(f"https://stspg.io/{public.id}" in text for text in said)
    assert any("status page" in m.get("text", "").lower() for m in hashi.messages(room))

    # Published once: a second publish is refused, clearly, and sends nothing.
    again = await _say(hashi, "statuspage publish Still looking.", BOB, room)
    assert any("on the status page already" in text for text in again), again
    assert len(statuspage.calls_to("POST", "/v1/pages/{page_id}/incidents")) == 1

    # A status change asks first; nothing reaches Statuspage until it is confirmed (with an edited message).
    confirm = await _confirmation(hashi, "status monitoring A fix is rolling out", BOB, room)
    await hashi.settle()
    assert statuspage.calls_to("PATCH", "/v1/pages/{page_id}/incidents/{incident_id}") == []
    edited = _edited(confirm, "A fix is rolling out; checkouts are recovering.")
    await hashi.driver.click(user_id=BOB, channel_id=room, message=edited, action_id=Action.STATUSPAGE_UPDATE)
    await hashi.settle()
    assert public.status == "monitoring"
    assert public.updates[-1]["body"] == "A fix is rolling out; checkouts are recovering."
    assert statuspage.components["cmpcheckout"]["status"] == "major_outage"

    # Resolving (past the playbook's required items), confirmed, resolves the public incident and restores
    # the components.
    before = len(hashi.standin.responses)
    await hashi.driver.command("resolve Rolled back the deploy", user_id=ALICE, channel_id=room)
    gate = await hashi.eventually(
        lambda: [m for m in hashi.standin.responses[before:] if Action.RESOLVE_ANYWAY in json.dumps(m)],
        what="the gate",
    )
    confirm = await _clicked_into_confirmation(hashi, {"ts": "0", **gate[-1]}, ALICE, room)
    await hashi.driver.click(
        user_id=ALICE, channel_id=room, message=confirm, action_id=Action.STATUSPAGE_UPDATE
    )
    await hashi.settle()
    assert public.status == "resolved" and public.updates[-1]["body"] == "Rolled back the deploy"
    assert statuspage.components["cmpcheckout"]["status"] == "operational"
    assert len(statuspage.calls_to("PATCH", "/v1/pages/{page_id}/incidents/{incident_id}")) == 2

    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert export_json(snap)["statuspage"] == {
        "id": public.id,
        "url": f"https://stspg.io/{public.id}",
        "status": "resolved",
        "components": ["cmpcheckout"],
        "pending": False,
    }


async def test_a_private_incident_is_never_published(hashi: Hashi, statuspage: StatuspageStandIn) -> None:
    room = await _declare_in_modal(hashi, "Secret rotation leak", services="checkout", private=True)
    said = await _say(hashi, "statuspage publish Investigating.", ALICE, room)  # in Japanese, for Alice
    assert any("非公開" in text and "掲載しません" in text for text in said), said
    assert statuspage.calls == []


async def test_services_without_a_component_are_refused_with_how_to_map_them(
    hashi: Hashi, statuspage: StatuspageStandIn
) -> None:
    room = await _declare_in_modal(hashi, "Payments down", services="payments", private=False)
    said = await _say(hashi, "statuspage publish Investigating.", BOB, room)
    assert any("integrations.statuspage.components" in text for text in said)
    assert statuspage.calls == []


async def test_a_statuspage_outage_is_retried_and_nothing_is_sent_twice(
    hashi: Hashi, statuspage: StatuspageStandIn
) -> None:
    room = await _declare_in_modal(hashi, "Search errors", services="search", private=False)
    attempts = hashi.runtime.vendor_clients[0].retry.attempts
    statuspage.fail_next(status=503, times=attempts)
    sent = await hashi.driver.command("statuspage publish Search is failing.", user_id=BOB, channel_id=room)
    await hashi.eventually(
        lambda: any("as soon as Statuspage answers" in t for t in hashi.ephemeral_texts(sent.response_url)),
        what="the reply saying it goes out later",
    )
    assert statuspage.incidents == {}
    pages = hashi.runtime.service.status_pages
    assert sorted(await asyncio.gather(pages.send_pending(), pages.send_pending())) == [0, 1]
    assert len(statuspage.incidents) == 1
    assert await pages.send_pending() == 0
    assert statuspage.components["cmpsearch"]["status"] == "major_outage"


async def test_the_cards_status_menu_asks_too_and_an_empty_message_is_refused(
    hashi: Hashi, statuspage: StatuspageStandIn
) -> None:
    room = await _declare_in_modal(hashi, "Search slow", services="search", private=False)
    await _say(hashi, "statuspage publish Search is slow for some customers.", BOB, room)
    before = len(hashi.standin.responses)
    await hashi.driver.click(
        user_id=BOB, channel_id=room, message=hashi.card(room), action_id=Action.STATUS, value="identified"
    )
    shown = await hashi.eventually(
        lambda: [m for m in hashi.standin.responses[before:] if Action.STATUSPAGE_UPDATE in json.dumps(m)],
        what="the confirmation",
    )
    confirm = {"ts": "0", **shown[-1]}
    before = len(hashi.standin.responses)
    await hashi.driver.click(
        user_id=BOB, channel_id=room, message=confirm, action_id=Action.STATUSPAGE_UPDATE
    )
    refused = await hashi.eventually(lambda: hashi.standin.responses[before:], what="the refusal")
    assert "Say what customers should read" in json.dumps(refused)
    assert statuspage.calls_to("PATCH", "/v1/pages/{page_id}/incidents/{incident_id}") == []
    edited = _edited(confirm, "We found the cause: a slow index.")
    await hashi.driver.click(user_id=BOB, channel_id=room, message=edited, action_id=Action.STATUSPAGE_UPDATE)
    await hashi.settle()
    (public,) = statuspage.incidents.values()
    assert (public.status, public.updates[-1]["body"]) == ("identified", "We found the cause: a slow index.")
