"""VendorClient against a vendor stand-in over real HTTP: retries, backoff, Retry-After, refusals, metrics."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from bot.integrations.client import RetryPolicy, VendorClient, VendorError, retry_after_seconds
from standin.vendors.pagerduty import PagerdutyStandIn

FAST = RetryPolicy(attempts=4, backoff=0.01, max_wait=5.0)


def _count(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "hashi_integration_calls_total", {"vendor": "pagerduty", "method": "enqueue", "outcome": outcome}
        )
        or 0.0
    )


def _ack(standin: PagerdutyStandIn, key: str = "INC-1") -> dict[str, str]:
    return {"routing_key": standin.routing_key, "event_action": "acknowledge", "dedup_key": key}


async def _client(standin: PagerdutyStandIn, **kwargs: object) -> VendorClient:
    return VendorClient(vendor="pagerduty", base_url=standin.api_url, retry=FAST, **kwargs)  # type: ignore[arg-type]


async def test_a_server_error_is_retried_with_backoff_until_it_succeeds(pagerduty: PagerdutyStandIn) -> None:
    pagerduty.fail_next(status=503, times=2)
    client = await _client(pagerduty)
    before_ok, before_5xx = _count("ok"), _count("5xx")
    try:
        answer = await client.call("enqueue", "POST", "/v2/enqueue", json_body=_ack(pagerduty))
    finally:
        await client.close()
    assert answer.status == 202 and answer.body["dedup_key"] == "INC-1"
    assert [c.status for c in pagerduty.calls] == [503, 503, 202]
    assert _count("5xx") - before_5xx == 2 and _count("ok") - before_ok == 1
    assert pagerduty.problems == []


async def test_a_429_waits_as_long_as_retry_after_asks(pagerduty: PagerdutyStandIn) -> None:
    pagerduty.fail_next(status=429, retry_after=0.4)
    client = await _client(pagerduty)
    started = time.monotonic()
    try:
        await client.call("enqueue", "POST", "/v2/enqueue", json_body=_ack(pagerduty))
    finally:
        await client.close()
    assert time.monotonic() - started >= 0.4
    assert [c.status for c in pagerduty.calls] == [429, 202]
    assert pagerduty.calls[0].status == 429


async def test_a_retry_after_longer_than_allowed_gives_up_at_once(pagerduty: PagerdutyStandIn) -> None:
    pagerduty.fail_next(status=429, retry_after=600)
    client = await _client(pagerduty)
    try:
        with pytest.raises(VendorError) as raised:
            await client.call("enqueue", "POST", "/v2/enqueue", json_body=_ack(pagerduty))
    finally:
        await client.close()
    assert raised.value.status == 429 and raised.value.retryable and raised.value.retry_after == 600
    assert len(pagerduty.calls) == 1


async def test_a_refusal_is_not_retried_and_says_why(pagerduty: PagerdutyStandIn) -> None:
    client = await _client(pagerduty)
    try:
        with pytest.raises(VendorError) as raised:
            await client.call(
                "enqueue", "POST", "/v2/enqueue", json_body={**_ack(pagerduty), "event_action": "snooze"}
            )
    finally:
        await client.close()
    assert raised.value.status == 400 and not raised.value.retryable
    assert "Event object is invalid" in raised.value.reason
    assert len(pagerduty.calls) == 1
    # The stand-in names what did not fit PagerDuty's description.
    assert any('"snooze" is not one of' in p for p in pagerduty.problems)


async def test_an_unreachable_vendor_is_retried_then_reported(pagerduty: PagerdutyStandIn) -> None:
    await pagerduty.stop()
    client = await _client(pagerduty, timeout=1.0)
    before = _count("unreachable")
    try:
        with pytest.raises(VendorError) as raised:
            await client.call("enqueue", "POST", "/v2/enqueue", json_body=_ack(pagerduty))
    finally:
        await client.close()
    assert raised.value.status is None and raised.value.retryable
    assert "unreachable" in raised.value.reason
    assert _count("unreachable") - before == FAST.attempts


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
