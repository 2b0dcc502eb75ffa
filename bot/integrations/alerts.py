"""Alerts in: Alertmanager's webhook (version 4) and Grafana's contact-point webhook at POST
/alerts/alertmanager and /alerts/grafana, authenticated with HASHI_ALERT_TOKEN, recorded in the durable inbox
before they are answered, then turned into incidents (bot.incidents.alerts)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.incidents.alerts import Alert, AlertNotice, AlertOutcome
from bot.incidents.deliveries import Delivery, run_recorded
from bot.incidents.escaping import without_mentions
from bot.integrations.config import AlertsConfig
from bot.observability import ALERT_DELIVERIES
from storage.inbox import Arrival, DeliveryLog

log = logging.getLogger(__name__)

SOURCES = ("alertmanager", "grafana")
DELIVERY_KIND = "alert"
UNRESOLVED = datetime(1, 1, 1, tzinfo=UTC)  # endsAt of an alert still firing: 0001-01-01T00:00:00Z
MAX_SUMMARY = 500
MAX_LINK = 1000
MAX_ALERTS = 1000


class AlertPayloadError(ValueError):
    """A payload that is not the webhook it claims to be; the message says what is wrong."""


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise AlertPayloadError(f"{where} must be a string")
    return value


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise AlertPayloadError(f"{where} must be an object of strings")
    return value


def _time(value: Any, where: str) -> datetime | None:
    from dateutil.parser import isoparse  # loaded with the first alert: a server without any keeps none of it

    try:
        parsed = isoparse(_text(value, where))
    except ValueError as exc:
        raise AlertPayloadError(f"{where} is not an RFC 3339 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise AlertPayloadError(f"{where} has no time zone: {value!r}")
    parsed = parsed.astimezone(UTC)
    return None if parsed <= UNRESOLVED else parsed


def _link(*candidates: Any) -> str | None:
    """The first http(s) URL among the candidates (others are left out, never linked)."""
    for value in candidates:
        if isinstance(value, str) and urlsplit(value).scheme in ("http", "https") and len(value) <= MAX_LINK:
            return value
    return None


def _status(value: Any, where: str) -> bool:
    """True for firing, False for resolved."""
    if value not in ("firing", "resolved"):
        raise AlertPayloadError(f'{where} must be "firing" or "resolved", not {value!r}')
    return bool(value == "firing")


def parse_notice(source: str, payload: Any, config: AlertsConfig) -> AlertNotice:
    """The notice an Alertmanager (version 4) or Grafana webhook payload carries, mapped by the rules."""
    if not isinstance(payload, dict):
        raise AlertPayloadError("the body must be a JSON object")
    if source == "alertmanager" and payload.get("version") != "4":
        raise AlertPayloadError(
            f'version must be "4" (Alertmanager\'s webhook), not {payload.get("version")!r}'
        )
    group_key = _text(payload.get("groupKey"), "groupKey")
    firing = _status(payload.get("status"), "status")
    raw_alerts = payload.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise AlertPayloadError("alerts must be a non-empty list")
    if len(raw_alerts) > MAX_ALERTS:
        raise AlertPayloadError(f"at most {MAX_ALERTS} alerts in one notification")
    common_labels = _labels(payload.get("commonLabels"), "commonLabels")
    common_annotations = _labels(payload.get("commonAnnotations"), "commonAnnotations")
    group_labels = _labels(payload.get("groupLabels"), "groupLabels")
    alerts = []
    every_label: dict[str, str] = {}
    for index, raw in enumerate(raw_alerts):
        where = f"alerts[{index}]"
        if not isinstance(raw, dict):
            raise AlertPayloadError(f"{where} must be an object")
        labels = _labels(raw.get("labels"), f"{where}.labels")
        annotations = _labels(raw.get("annotations"), f"{where}.annotations")
        starts_at = _time(raw.get("startsAt"), f"{where}.startsAt")  # None: the zero time (unknown)
        ends_raw = raw.get("endsAt")
        ends_at = _time(ends_raw, f"{where}.endsAt") if ends_raw is not None else None
        fingerprint = raw.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
        summary = (
            annotations.get("summary")
            or annotations.get("description")
            or labels.get("alertname")
            or common_labels.get("alertname")
            or "alert"
        )
        alerts.append(
            Alert(
                fingerprint=fingerprint,
                firing=_status(raw.get("status"), f"{where}.status"),
                summary=without_mentions(summary.strip()[:MAX_SUMMARY]),
                link=_link(raw.get("panelURL"), raw.get("dashboardURL"), raw.get("generatorURL")),
                starts_at=starts_at,
                ends_at=ends_at,
            )
        )
        for name, value in labels.items():
            every_label.setdefault(name, value)
    labels = {**every_label, **group_labels, **common_labels}
    severity, services = route(labels, config)
    title = (
        common_annotations.get("summary")
        or common_labels.get("alertname")
        or group_labels.get("alertname")
        or alerts[0].summary
    )
    return AlertNotice(
        source=source,
        group_key=group_key,
        firing=firing,
        title=without_mentions(title.strip()[:200]) or "alert",
        severity=severity,
        services=services,
        alerts=tuple(alerts),
        resolved_marks_mitigated=config.resolved_marks_mitigated,
    )


def route(labels: Mapping[str, str], config: AlertsConfig) -> tuple[str | None, tuple[str, ...]]:
    """Severity and services for a group's labels: the first rule whose `match` they all satisfy; services
    from the `service_labels` when that rule names none (severity None: the configured default)."""
    rule = next((r for r in config.rules if all(labels.get(k) == v for k, v in r.match.items())), None)
    severity = rule.severity if rule is not None else None
    services = rule.services if rule is not None and rule.services else ()
    if not services:
        services = tuple(dict.fromkeys(labels[n] for n in config.service_labels if labels.get(n)))
    return severity, services


def delivery_id(source: str, notice: AlertNotice) -> str:
    """What makes two deliveries the same: the group, its state and each alert's identity and state (not the
    sender, so two Alertmanager replicas sending the same notification are one delivery)."""
    alerts = sorted((a.fingerprint, a.firing, _iso(a.starts_at), _iso(a.ends_at)) for a in notice.alerts)
    identity = json.dumps([source, notice.group_key, notice.firing, alerts])
    return f"alert:{source}:" + hashlib.sha256(identity.encode("utf-8")).hexdigest()


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


Receiver = Callable[..., Awaitable[AlertOutcome]]


class AlertIntake:
    """The alert webhooks: authenticate, record in the durable inbox, answer, then work (or replay)."""

    def __init__(
        self,
        *,
        token: str | None,
        config: AlertsConfig | None,
        deliveries: DeliveryLog,
        receive: Receiver,
    ) -> None:
        self._token = token
        self.config = config or AlertsConfig()
        self.deliveries = deliveries
        self._receive = receive
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self, web_app: web.Application) -> None:
        """Adds POST /alerts/alertmanager and POST /alerts/grafana."""
        for source in SOURCES:
            web_app.router.add_post(f"/alerts/{source}", self._handler(source))

    def _handler(self, source: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def take(request: web.Request) -> web.Response:
            return await self.take(request, source)

        return take

    def _authorized(self, request: web.Request) -> bool:
        if not self._token:
            return False
        given = request.headers.get("Authorization", "")
        scheme, _, credential = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credential.strip().encode("utf-8"), self._token.encode("utf-8")
        )

    async def take(self, request: web.Request, source: str) -> web.Response:
        """Answers one webhook delivery: 401 without the token, 400 for a payload that is not the webhook,
        200 once it is recorded (its work runs after the answer, once per delivery)."""
        if not self._authorized(request):
            ALERT_DELIVERIES.labels(source=source, outcome="unauthorized").inc()
            return web.json_response(
                {"error": "unauthorized: send Authorization: Bearer <HASHI_ALERT_TOKEN>"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            payload = json.loads(await request.read())
            notice = parse_notice(source, payload, self.config)
        except (ValueError, UnicodeDecodeError) as exc:
            reason = str(exc) if isinstance(exc, AlertPayloadError) else "the body is not JSON"
            log.warning("refused an alert delivery: %s", reason)
            ALERT_DELIVERIES.labels(source=source, outcome="invalid").inc()
            return web.json_response({"error": reason}, status=400)
        key = delivery_id(source, notice)
        body = json.dumps({"source": source, "payload": payload}, ensure_ascii=False)
        new, received = await self.deliveries.record(Arrival(delivery_id=key, kind=DELIVERY_KIND, body=body))
        if new:
            self._start(Delivery(delivery_id=key, received_at=received), notice)
        ALERT_DELIVERIES.labels(source=source, outcome="accepted" if new else "duplicate").inc()
        return web.json_response({"status": "accepted" if new else "duplicate", "delivery": key})

    def _start(self, delivery: Delivery, notice: AlertNotice) -> None:
        task = asyncio.ensure_future(self._work(delivery, notice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, delivery: Delivery, notice: AlertNotice) -> None:
        async def receive() -> None:
            await self._receive(notice=notice)

        try:
            await run_recorded(self.deliveries, delivery, receive())
        except Exception:  # counted in the inbox and tried again by its replay; logged there
            log.exception("alert delivery failed", extra={"delivery_id": delivery.delivery_id})

    async def replay(self, delivery: Delivery, body: str) -> None:
        """Runs a recorded alert delivery again (after a crash, or by another replica)."""
        try:
            record = json.loads(body)
            notice = parse_notice(record["source"], record["payload"], self.config)
        except (ValueError, KeyError, TypeError):
            await self.deliveries.finish(delivery.delivery_id, outcome="unreadable record")
            return
        await self._work(delivery, notice)

    async def idle(self) -> None:
        """Waits for the work of deliveries answered so far (tests, and a stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
