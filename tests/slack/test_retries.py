"""The gateway's client waits out the stand-in's real rate limits (429 + Retry-After) and counts them."""

from __future__ import annotations

import time

from prometheus_client import REGISTRY

from bot.slack.webapi import make_client
from standin.limits import POST_MESSAGE_PER_CHANNEL
from standin.server import SlackStandIn


def _count(method: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("hashi_slack_api_calls_total", {"method": method, "outcome": outcome})
    return value or 0.0


async def test_a_real_429_is_waited_out_and_counted() -> None:
    async with SlackStandIn(spec=None) as standin:  # Slack's limits on, as in every test
        standin.add_channel("C0ROOM", "room", members=[standin.bot_user_id])
        client = make_client(token=standin.bot_token, base_url=standin.api_url)
        before = _count("chat.postMessage", "429")
        # Post past the channel's burst until the stand-in refuses one (on a slow machine the bucket refills
        # a little meanwhile, so the refusal may come a few posts later).
        for n in range(int(POST_MESSAGE_PER_CHANNEL.burst) + 10):
            started = time.monotonic()
            posted = await client.chat_postMessage(channel="C0ROOM", text=f"line {n}")
            assert posted["ok"] is True
            if any(call.http_status == 429 for call in standin.calls):
                break
        elapsed = time.monotonic() - started

        assert n >= POST_MESSAGE_PER_CHANNEL.burst  # the burst itself passed
        assert elapsed >= 1.0  # Retry-After: 1, honoured
        refused, answered = standin.calls_to("chat.postMessage")[-2:]
        assert refused.response == {"ok": False, "error": "ratelimited"} and not refused.injected
        assert answered.http_status == 200
        assert _count("chat.postMessage", "429") == before + 1
