"""The alert webhooks' payloads, parsed and mapped by the team's rules (the pure part of alerts in)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.integrations.alerts import AlertPayloadError, delivery_id, parse_notice, route
from bot.integrations.config import AlertRule, AlertsConfig
from tests.conftest import shared_path

EXAMPLES = {
    "alertmanager": [
        "alertmanager-0.25.0-captured.firing.json",
        "alertmanager-0.25.0-captured.resolved.json",
    ],
    "grafana": ["grafana-docs-webhook.firing.json", "grafana-alerting-test-fixture.default-payload.json"],
}
SCHEMAS = {"alertmanager": "alertmanager-webhook.schema.json", "grafana": "grafana-webhook.schema.json"}


def _load(*parts: str) -> Any:
    return json.loads(shared_path("specs", "alerting", *parts).read_text(encoding="utf-8"))


@pytest.mark.parametrize("source", sorted(EXAMPLES))
def test_every_published_example_fits_its_schema_and_parses(source: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(_load(SCHEMAS[source]))
    for name in EXAMPLES[source]:
        payload = _load("examples", name)
        validator.validate(payload)
        notice = parse_notice(source, payload, AlertsConfig())
        assert notice.group_key == payload["groupKey"]
        assert notice.firing == (payload["status"] == "firing")
        assert len(notice.alerts) == len(payload["alerts"])
        assert all(a.starts_at is None or a.starts_at.tzinfo is not None for a in notice.alerts)


def test_the_first_matching_rule_decides_else_the_service_labels() -> None:
    config = AlertsConfig(
        rules=(
            AlertRule(match={"severity": "critical", "team": "pay"}, severity="SEV1", services=("checkout",)),
            AlertRule(match={"severity": "critical"}, severity="SEV2"),
        ),
        service_labels=("service", "app"),
    )
    assert route({"severity": "critical", "team": "pay", "service": "x"}, config) == ("SEV1", ("checkout",))
    assert route({"severity": "critical", "service": "api", "app": "web"}, config) == ("SEV2", ("api", "web"))
    assert route({"severity": "warning"}, config) == (None, ())


def test_the_same_notification_from_another_sender_is_the_same_delivery() -> None:
    payload = _load("examples", "alertmanager-0.25.0-captured.firing.json")
    other_replica = {**payload, "externalURL": "http://alertmanager-2:9093", "receiver": "other"}
    first = delivery_id("alertmanager", parse_notice("alertmanager", payload, AlertsConfig()))
    second = delivery_id("alertmanager", parse_notice("alertmanager", other_replica, AlertsConfig()))
    assert first == second
    resolved = _load("examples", "alertmanager-0.25.0-captured.resolved.json")
    assert delivery_id("alertmanager", parse_notice("alertmanager", resolved, AlertsConfig())) != first


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"status": "burning"}, "status"),
        ({"alerts": []}, "alerts"),
        ({"groupKey": 7}, "groupKey"),
        ({"commonLabels": {"a": 1}}, "commonLabels"),
    ],
)
def test_a_payload_that_is_not_the_webhook_says_what_is_wrong(change: dict[str, Any], fragment: str) -> None:
    payload = {**_load("examples", "alertmanager-0.25.0-captured.firing.json"), **change}
    with pytest.raises(AlertPayloadError, match=fragment):
        parse_notice("alertmanager", payload, AlertsConfig())


def test_alert_text_loses_its_mention_syntax_and_links_must_be_web_links() -> None:
    payload = _load("examples", "alertmanager-0.25.0-captured.firing.json")
    payload["alerts"][0]["annotations"]["summary"] = "ping <@U0BOB> and <#C0GENERAL|general>"
    payload["alerts"][0]["generatorURL"] = "javascript:alert(1)"
    alert = parse_notice("alertmanager", payload, AlertsConfig()).alerts[0]
    assert alert.summary == "ping @U0BOB and #C0GENERAL|general"
    assert alert.link is None
