"""The vendor stand-ins' checks against the published descriptions in ../shared/specs."""

from __future__ import annotations

import json

import aiohttp

from standin.vendors.openapi import OpenApiSpec
from standin.vendors.pagerduty import PagerdutyStandIn
from tests.conftest import shared_path


async def test_pagerdutys_own_examples_are_accepted(pagerduty: PagerdutyStandIn) -> None:
    async with aiohttp.ClientSession() as http:
        for action in ("trigger", "acknowledge", "resolve"):
            example = json.loads(
                shared_path("specs", "pagerduty", "examples", f"events-v2-{action}.request.json").read_text()
            )
            example["routing_key"] = pagerduty.routing_key
            example["dedup_key"] = "one-alert"  # the docs' three examples name different keys
            async with http.post(f"{pagerduty.url}/v2/enqueue", json=example) as answer:
                assert answer.status == 202, await answer.text()
    assert pagerduty.problems == []
    assert [e["event_action"] for e in pagerduty.events()] == ["trigger", "acknowledge", "resolve"]
    assert pagerduty.alerts["one-alert"].status == "resolved"


async def test_calls_outside_the_description_are_refused_and_recorded(pagerduty: PagerdutyStandIn) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{pagerduty.url}/v2/change/enqueue", json={}) as unknown:
            assert unknown.status == 404
        async with http.get(f"{pagerduty.url}/v2/enqueue") as wrong_method:
            assert wrong_method.status == 405
        trigger = {"routing_key": pagerduty.routing_key, "event_action": "trigger", "payload": {}}
        async with http.post(f"{pagerduty.url}/v2/enqueue", json=trigger) as incomplete:
            assert incomplete.status == 400
            assert (await incomplete.json())["status"] == "invalid event"
    assert len(pagerduty.problems) == 2 + 3  # two unknown operations, three missing payload fields
    assert "POST /v2/enqueue: $.payload: missing 'summary'" in pagerduty.problems


async def test_a_rate_limit_is_answered_429_with_retry_after(pagerduty: PagerdutyStandIn) -> None:
    pagerduty.rate_limit = (2, 60.0)
    pagerduty.retry_after = 7
    event = {"routing_key": pagerduty.routing_key, "event_action": "resolve", "dedup_key": "k"}
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(3):
            async with http.post(f"{pagerduty.url}/v2/enqueue", json=event) as answer:
                statuses.append(answer.status)
                retry_after = answer.headers.get("Retry-After")
    assert statuses == [202, 202, 429] and retry_after == "7"


def test_the_spec_checker_follows_refs_enums_and_nested_required_fields() -> None:
    shared_path("specs", "statuspage")
    spec = OpenApiSpec.load("statuspage", "incidents-components.openapi.json")
    operation = spec.match("POST", "/v1/pages/abc/incidents")
    assert operation is not None and operation.template == "/v1/pages/{page_id}/incidents"
    assert spec.match("DELETE", "/v1/pages/abc/incidents") is None
    good = {"incident": {"name": "Checkout down", "status": "investigating"}}
    assert spec.request_problems(operation, good) == []
    bad = {"incident": {"name": "Checkout down", "status": "on_fire"}}
    assert any("on_fire" in p for p in spec.request_problems(operation, bad))
