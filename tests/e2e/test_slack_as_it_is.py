"""Slack as it really is (issue 17): request bodies, long answers, channel names and events as Slack sends
them, through signed requests to the real app."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from bot.standin.harness import ALICE, GENERAL, Hashi


async def _declare(hashi: Hashi, text: str = "declare SEV2 Checkout errors") -> str:
    await hashi.driver.command(text, user_id=ALICE, channel_id=GENERAL)
    room = await hashi.eventually(lambda: hashi.channel_named("inc-"), what="the incident channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    await hashi.settle()
    return str(room)


# A form body that holds the word "payload" (Bolt's parse_body looks for a `payload=` field then)


@pytest.mark.parametrize(
    ("field", "value"),
    [("text", "note payload size doubled"), ("channel_name", "payload-team"), ("team_domain", "payloadco")],
)
async def test_a_command_holding_the_word_payload_is_understood(hashi: Hashi, field: str, value: str) -> None:
    room = await _declare(hashi)
    fields = hashi.driver.command_body("note payload size doubled", user_id=ALICE, channel_id=room)
    fields[field] = value
    sent = await hashi.driver.post(urlencode(fields), "application/x-www-form-urlencoded")
    assert sent.status == 200, sent
    await hashi.settle()
    snap = await hashi.runtime.service.snapshot(incident_id=1)
    assert any("payload size doubled" in entry.text for entry in snap.timeline)


async def test_a_signature_over_another_body_still_fails_when_it_holds_payload(hashi: Hashi) -> None:
    room = await _declare(hashi)
    fields = urlencode(hashi.driver.command_body("note payload x", user_id=ALICE, channel_id=room))
    sent = await hashi.driver.post(fields, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    assert sent.status == 401
