"""Prometheus metrics Hashi exports on /metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Histogram(
    "hashi_slack_requests_seconds",
    "Time to answer a Slack request, by kind and HTTP status",
    ["kind", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)
SLACK_CALLS = Counter(
    "hashi_slack_api_calls_total",
    "Slack Web API calls, by method and outcome (ok, error, unreachable, 429, retry)",
    ["method", "outcome"],
)
# Read from the database when /metrics is scraped, so every replica reports the same, true figures.
OPEN_INCIDENTS = Gauge("hashi_open_incidents", "Open incidents, by severity", ["severity"])
SCHEDULED_REMINDERS = Gauge("hashi_scheduled_reminders", "Reminders waiting in Slack's scheduler")


def request_kind(body: dict[str, Any]) -> str:
    """command, block_actions, view_submission, event_callback … for a Bolt request body."""
    if "command" in body:
        return "command"
    return str(body.get("type") or "other")


INTEGRATION_CALLS = Counter(
    "hashi_integration_calls_total",
    "Calls to other vendors' APIs, by vendor, method and outcome (ok, error, 429, 5xx, unreachable)",
    ["vendor", "method", "outcome"],
)
INTEGRATION_LATENCY = Histogram(
    "hashi_integration_call_seconds",
    "Time each attempt at a call to another vendor's API took, by vendor and method",
    ["vendor", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ALERT_DELIVERIES = Counter(
    "hashi_alert_deliveries_total",
    "Alert webhook deliveries, by source (alertmanager, grafana) and outcome (accepted, duplicate, "
    "unauthorized, invalid)",
    ["source", "outcome"],
)
