"""Alerts in: Alertmanager's and Grafana's webhooks delivered over HTTP to the real app, which declares or
adds to incidents in Slack (the stand-in) exactly once per delivery."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.integrations.alerts import delivery_id, parse_notice
from bot.integrations.config import AlertRule, AlertsConfig, IntegrationsConfig
from bot.reports.export import export_json
from bot.settings import FieldConfig, TeamConfig
from standin.harness import Hashi, running_hashi
from standin.spec import ApiSpec
from storage.inbox import Arrival
from tests.conftest import shared_path

TOKEN = "alert-token-0123456789"
TEAM = TeamConfig(
    integrations=IntegrationsConfig(
        alerts=AlertsConfig(
            rules=(
                AlertRule(match={"severity": "critical"}, severity="SEV1"),
                AlertRule(match={"team": "blue"}, severity="SEV2", services=("memory",)),
            ),
            resolved_marks_mitigated=True,
        )
    )
)


def _example(name: str) -> dict[str, Any]:
    return dict(json.loads(shared_path("specs", "alerting", "examples", name).read_text(encoding="utf-8")))


def _recent(payload: dict[str, Any], *, minutes_ago: int) -> dict[str, Any]:
    """The payload with its alerts started `minutes_ago` (the captured ones are from the day they were)."""
    fresh = copy.deepcopy(payload)
    started = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for alert in fresh["alerts"]:
        alert["startsAt"] = started
    return fresh


@pytest.fixture
async def hashi(database_url: str, slack_spec: ApiSpec) -> AsyncIterator[Hashi]:
    """Hashi on SQLite and PostgreSQL with the alert webhooks on, against the Slack stand-in."""
    async with running_hashi(
        database_url=database_url, spec=slack_spec, team=TEAM, environment={"HASHI_ALERT_TOKEN": TOKEN}
    ) as running:
        yield running
        assert running.standin.rejections == [], "a Web API call broke Slack's published spec"


async def _post(
    hashi: Hashi, source: str, payload: Any, *, token: str | None = TOKEN
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hashi.base}/alerts/{source}", json=payload, headers=headers) as answer:
            return answer.status, await answer.json()


async def _accepted(hashi: Hashi, payload: dict[str, Any]) -> dict[str, Any]:
    notice = parse_notice("alertmanager", payload, AlertsConfig())
    return {"status": "accepted", "delivery": delivery_id("alertmanager", notice)}


async def _export(hashi: Hashi, incident_id: int) -> dict[str, Any]:
    await hashi.runtime.alerts.idle()
    return export_json(await hashi.runtime.service.snapshot(incident_id=incident_id))


async def _incident_count(hashi: Hashi) -> int:
    await hashi.runtime.alerts.idle()
    return len(await hashi.runtime.service.list_incidents(open_only=False))


async def test_a_firing_group_declares_once_and_its_later_alerts_add_to_it(hashi: Hashi) -> None:
    firing = _recent(_example("alertmanager-0.25.0-captured.firing.json"), minutes_ago=7)
    before = datetime.now(UTC)
    # The same notification from two Alertmanager replicas at once, and again later: one incident.
    answers = await asyncio.gather(*(_post(hashi, "alertmanager", firing) for _ in range(3)))
    assert sorted(status for status, _ in answers) == [200, 200, 200]
    assert sorted(body["status"] for _, body in answers) == ["accepted", "duplicate", "duplicate"]
    assert await _incident_count(hashi) == 1
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the incident's channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")

    exported = await _export(hashi, 1)
    assert exported["title"] == "Checkout 5xx rate above 5%"
    assert exported["severity"] == "SEV1"  # severity=critical by the first rule
    assert exported["services"] == ["checkout"]  # from the `service` label
    assert exported["milestones"]["impact_started_at"] == firing["alerts"][0]["startsAt"]
    detected = datetime.fromisoformat(exported["milestones"]["detected_at"])
    assert before - timedelta(seconds=1) <= detected <= datetime.now(UTC)
    alerts = [e for e in exported["timeline"] if e["kind"] == "alert"]
    assert [e["text"] for e in alerts] == [
        "Alert firing (Alertmanager): Checkout 5xx rate above 5% — " + firing["alerts"][0]["generatorURL"]
    ]
    assert alerts[0]["actor"] is None

    # A later notification of the same group with one more alert adds that alert, and only it.
    grown = copy.deepcopy(firing)
    extra = copy.deepcopy(grown["alerts"][0])
    extra.update(fingerprint="0000000000000002", annotations={"summary": "Checkout p99 above 2s"})
    grown["alerts"].append(extra)
    status, body = await _post(hashi, "alertmanager", grown)
    assert (status, body["status"]) == (200, "accepted")
    assert await _incident_count(hashi) == 1
    exported = await _export(hashi, 1)
    texts = [e["text"] for e in exported["timeline"] if e["kind"] == "alert"]
    assert len(texts) == 2 and "Checkout p99 above 2s" in texts[1]
    await hashi.settle()
    posted = " ".join(m.get("text", "") for m in hashi.messages(room))
    assert "Alert firing (Alertmanager): Checkout p99 above 2s" in posted

    # Resolved: a timeline event, and (as configured) the mitigation.
    resolved = _example("alertmanager-0.25.0-captured.resolved.json")
    resolved["alerts"][0]["startsAt"] = firing["alerts"][0]["startsAt"]
    ended = datetime.now(UTC) - timedelta(minutes=1)
    resolved["alerts"][0]["endsAt"] = ended.strftime("%Y-%m-%dT%H:%M:%SZ")
    status, body = await _post(hashi, "alertmanager", resolved)
    assert (status, body["status"]) == (200, "accepted")
    exported = await _export(hashi, 1)
    assert [e["text"] for e in exported["timeline"] if e["kind"] == "alert"][-1].startswith(
        "Alert resolved (Alertmanager): Checkout 5xx rate above 5%"
    )
    assert exported["milestones"]["mitigated_at"] == resolved["alerts"][0]["endsAt"]
    assert exported["status"] == "investigating"  # an alert resolving is not the incident resolving
    assert await _incident_count(hashi) == 1


async def test_a_group_whose_incident_is_resolved_declares_a_new_one(hashi: Hashi) -> None:
    firing = _recent(_example("alertmanager-0.25.0-captured.firing.json"), minutes_ago=3)
    assert (await _post(hashi, "alertmanager", firing))[0] == 200
    assert await _incident_count(hashi) == 1
    await hashi.runtime.service.resolve(incident_id=1, actor=None, override_gates=True)
    # Alertmanager repeating the group, its alert still firing since the same moment: that incident's.
    repeated = copy.deepcopy(firing)
    other = copy.deepcopy(repeated["alerts"][0])
    other.update(fingerprint="0000000000000003", status="resolved", endsAt=other["startsAt"])
    repeated["alerts"].append(other)
    assert await _post(hashi, "alertmanager", repeated) == (200, await _accepted(hashi, repeated))
    assert await _incident_count(hashi) == 1
    again = _recent(firing, minutes_ago=1)  # it fires again later: a new startsAt
    assert (await _post(hashi, "alertmanager", again))[0] == 200
    assert await _incident_count(hashi) == 2
    assert (await _export(hashi, 2))["status"] == "investigating"


async def test_grafanas_webhook_maps_labels_and_its_text_stays_text(hashi: Hashi) -> None:
    payload = _recent(_example("grafana-docs-webhook.firing.json"), minutes_ago=2)
    payload["alerts"][0]["annotations"]["summary"] = "<!channel> *zone* us-1 <@U0BOB> & more"
    status, body = await _post(hashi, "grafana", payload)
    assert (status, body["status"]) == (200, "accepted")
    exported = await _export(hashi, 1)
    assert exported["severity"] == "SEV2" and exported["services"] == ["memory"]  # team=blue's rule
    assert len([e for e in exported["timeline"] if e["kind"] == "alert"]) == 2
    room = await hashi.eventually(lambda: hashi.channel_named("inc-1-"), what="the incident's channel")
    await hashi.eventually(lambda: hashi.standin.channels[room].pins, what="the pinned card")
    # The first alert resolving (the second still firing) posts its line in the channel: escaped, so
    # nobody is pinged.
    resolved = copy.deepcopy(payload)
    resolved["alerts"][0].update(status="resolved", endsAt=datetime.now(UTC).isoformat())
    assert (await _post(hashi, "grafana", resolved))[0] == 200
    await hashi.runtime.alerts.idle()
    await hashi.settle()
    lines = [m.get("text", "") for m in hashi.messages(room) if "Alert resolved" in m.get("text", "")]
    assert len(lines) == 1
    assert "&lt;!channel&gt;" in lines[0] and "@U0BOB" in lines[0]
    assert "<!channel>" not in lines[0] and "<@U0BOB>" not in lines[0]
    # Not all of the group resolved: no mitigation yet.
    assert (await _export(hashi, 1))["milestones"]["mitigated_at"] is None


async def test_without_the_token_or_with_a_bad_payload_nothing_happens(hashi: Hashi) -> None:
    firing = _recent(_example("alertmanager-0.25.0-captured.firing.json"), minutes_ago=1)
    assert (await _post(hashi, "alertmanager", firing, token=None))[0] == 401
    assert (await _post(hashi, "alertmanager", firing, token="wrong"))[0] == 401
    assert (await _post(hashi, "grafana", firing, token=TOKEN + "x"))[0] == 401
    status, body = await _post(hashi, "alertmanager", {**firing, "version": "3"})
    assert status == 400 and "version" in body["error"]
    broken = copy.deepcopy(firing)
    broken["alerts"][0]["startsAt"] = "yesterday"
    status, body = await _post(hashi, "alertmanager", broken)
    assert status == 400 and "alerts[0].startsAt" in body["error"]
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{hashi.base}/alerts/grafana", data=b"{not json", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as answer:
            assert answer.status == 400
    assert await _incident_count(hashi) == 0
    assert await hashi.runtime.inbox.deliveries.pending_count() == 0
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hashi.base}/metrics") as answer:
            metrics = await answer.text()
    assert 'hashi_alert_deliveries_total{outcome="unauthorized",source="alertmanager"}' in metrics
    assert 'hashi_alert_deliveries_total{outcome="invalid",source="grafana"}' in metrics


async def test_an_alert_recorded_before_a_crash_is_resumed_once(hashi: Hashi) -> None:
    firing = _recent(_example("alertmanager-0.25.0-captured.firing.json"), minutes_ago=4)
    notice = parse_notice("alertmanager", firing, TEAM.integrations.alerts or AlertsConfig())
    key = delivery_id("alertmanager", notice)
    # As `take` records it before its answer; the process dies before the work runs.
    body = json.dumps({"source": "alertmanager", "payload": firing})
    new, _ = await hashi.runtime.inbox.deliveries.record(Arrival(delivery_id=key, kind="alert", body=body))
    assert new and await _incident_count(hashi) == 0
    # Its next start resumes what it recorded and did not finish.
    restart = datetime.now(UTC) + timedelta(seconds=1)
    assert await hashi.runtime.inbox.resume(mine_since=restart) == 1
    assert await _incident_count(hashi) == 1
    assert await hashi.runtime.inbox.resume(mine_since=restart) == 0
    # Alertmanager retrying the same notification now changes nothing.
    assert (await _post(hashi, "alertmanager", firing))[1]["status"] == "duplicate"
    assert await _incident_count(hashi) == 1
    assert (await _export(hashi, 1))["severity"] == "SEV1"


async def test_two_notifications_of_a_new_group_at_once_open_one_incident(hashi: Hashi) -> None:
    firing = _recent(_example("alertmanager-0.25.0-captured.firing.json"), minutes_ago=2)
    grown = copy.deepcopy(firing)
    extra = copy.deepcopy(grown["alerts"][0])
    extra.update(fingerprint="0000000000000004", annotations={"summary": "Checkout p99 above 2s"})
    grown["alerts"].append(extra)
    answers = await asyncio.gather(_post(hashi, "alertmanager", firing), _post(hashi, "alertmanager", grown))
    assert [body["status"] for _, body in answers] == ["accepted", "accepted"]
    await hashi.runtime.alerts.idle()
    (incident,) = await hashi.runtime.service.list_incidents(open_only=False)
    # Its id need not be 1: on PostgreSQL the declaration that lost the race used up a sequence number.
    exported = await _export(hashi, incident.id)
    assert len([e for e in exported["timeline"] if e["kind"] == "alert"]) == 2


async def test_an_alert_declares_even_when_the_team_requires_a_field_people_fill_in(
    tmp_path: Path, slack_spec: ApiSpec
) -> None:
    region = FieldConfig.model_validate({"kind": "select", "choices": ["eu", "us"], "required": "declare"})
    team = TeamConfig(integrations=TEAM.integrations, fields={"region": region})
    async with running_hashi(
        database_url=f"sqlite:///{tmp_path / 'hashi.db'}",
        spec=slack_spec,
        team=team,
        environment={"HASHI_ALERT_TOKEN": TOKEN},
    ) as hashi:
        firing = _recent(_example("alertmanager-0.25.0-captured.firing.json"), minutes_ago=1)
        assert (await _post(hashi, "alertmanager", firing))[0] == 200
        assert await _incident_count(hashi) == 1
