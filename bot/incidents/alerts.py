"""Alerts in: a firing alert group declares an incident, or adds to the open one it declared; a resolved
alert is a timeline event (and, when configured, the mitigation)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from bot.i18n import Msg
from bot.incidents.core import ChangeEffects, Part
from bot.incidents.deliveries import current_delivery
from bot.incidents.model import OPEN_STATUSES, EventKind, Milestone
from storage.models import Incident
from storage.repository import Repository

MAX_TITLE = 200
RACE_RETRIES = 3


@dataclass(frozen=True)
class Alert:
    """One alert of a notification: its identity, state, words and link, as the alerting tool sent them."""

    fingerprint: str
    firing: bool
    summary: str
    link: str | None
    starts_at: datetime | None  # None when the tool did not say
    ends_at: datetime | None = None


@dataclass(frozen=True)
class AlertNotice:
    """One notification about an alert group, mapped to the incident it asks for (severity, services)."""

    source: str  # "alertmanager" or "grafana"
    group_key: str
    firing: bool
    title: str
    severity: str | None
    services: tuple[str, ...]
    alerts: tuple[Alert, ...]
    resolved_marks_mitigated: bool = False

    @property
    def group_hash(self) -> str:
        """The group key, hashed to a fixed width (group keys may be long)."""
        return hashlib.sha256(self.group_key.encode("utf-8")).hexdigest()

    @property
    def source_name(self) -> str:
        """How the timeline names the source."""
        return {"alertmanager": "Alertmanager", "grafana": "Grafana"}.get(self.source, self.source)


@dataclass(frozen=True)
class AlertOutcome:
    """What a notification did: the incident it declared or added to (None: nothing to do), and how many
    alert events it added."""

    incident_id: int | None
    declared: bool
    added: int


class _GroupRaced(Exception):
    """Another notification of the same group linked it to an incident first (two replicas, a race)."""


class Alerting(Part):
    """Turns alert notifications into incidents and timeline events."""

    async def receive_alerts(self, *, notice: AlertNotice) -> AlertOutcome:
        """Declares an incident for a firing group without an open one, else adds its alerts to that one."""
        for _ in range(RACE_RETRIES):
            try:
                return await self._receive(notice)
            except _GroupRaced:
                continue  # the group is linked now: the next pass adds to that incident
        return await self._receive(notice)

    async def _receive(self, notice: AlertNotice) -> AlertOutcome:
        firing = [a for a in notice.alerts if a.firing]
        async with self._store.transaction() as repo:
            link = await repo.alert_group(source=notice.source, group_hash=notice.group_hash)
            linked = await repo.incident(incident_id=link.incident_id) if link is not None else None
            # Alertmanager repeats a group still firing; alerts its finished incident recorded stay with it.
            told = link is not None and all(
                [
                    await repo.event_by_source(incident_id=link.incident_id, source_ref=alert_ref(notice, a))
                    is not None
                    for a in firing
                ]
            )
        open_values = {s.value for s in OPEN_STATUSES}
        if linked is not None and linked.status in open_values:
            assert linked.id is not None
            return await self._add(linked.id, notice)
        if not notice.firing or not firing or told:
            async with self._write():
                pass  # nothing to record for a group with no open incident; the delivery is done
            return AlertOutcome(incident_id=None, declared=False, added=0)
        prior = linked.id if linked is not None else None
        added = 0

        async def link_and_record(repo: Repository, incident: Incident) -> None:
            nonlocal added
            assert incident.id is not None
            now = self._clock.now()
            if prior is None:
                linked_now = await repo.link_alert_group(
                    source=notice.source,
                    group_hash=notice.group_hash,
                    group_key=notice.group_key,
                    incident_id=incident.id,
                    at=now,
                )
            else:
                linked_now = await repo.relink_alert_group(
                    source=notice.source,
                    group_hash=notice.group_hash,
                    from_incident=prior,
                    to_incident=incident.id,
                    at=now,
                )
            if not linked_now:
                raise _GroupRaced(notice.group_key)
            for alert in notice.alerts:
                added += await self._alert_event(repo, incident, notice, alert, fx=None)

        delivery = current_delivery()
        setup = await self.parts.declaring.declare(
            title=notice.title[:MAX_TITLE],
            actor=None,
            severity=notice.severity,
            summary=_summary(firing[0]),
            services=notice.services,
            detected_at=delivery.received_at if delivery is not None else self._clock.now(),
            impact_started_at=min((a.starts_at for a in firing if a.starts_at is not None), default=None),
            also=link_and_record,
        )
        return AlertOutcome(incident_id=setup.incident.id, declared=True, added=added)

    async def _add(self, incident_id: int, notice: AlertNotice) -> AlertOutcome:
        added = 0

        async def change(repo: Repository, row: Incident, fx: ChangeEffects) -> None:
            nonlocal added
            for alert in notice.alerts:
                added += await self._alert_event(repo, row, notice, alert, fx=fx)
            all_resolved = not notice.firing and not any(a.firing for a in notice.alerts)
            if all_resolved and notice.resolved_marks_mitigated and row.mitigated_at is None:
                ends = [a.ends_at for a in notice.alerts if a.ends_at is not None]
                row.mitigated_at = min(max(ends), self._clock.now()) if ends else self._clock.now()
                await self._event(
                    repo,
                    row,
                    at=row.mitigated_at,
                    kind=EventKind.MITIGATED,
                    actor=None,
                    text=Msg("timeline.mitigated"),
                    data={"milestone": Milestone.MITIGATED.value},
                    fx=fx,
                )

        await self._change(incident_id, change, actor=None)
        return AlertOutcome(incident_id=incident_id, declared=False, added=added)

    async def _alert_event(
        self,
        repo: Repository,
        row: Incident,
        notice: AlertNotice,
        alert: Alert,
        *,
        fx: ChangeEffects | None,
    ) -> int:
        """One timeline event per alert and state (firing, resolved), however often it is sent."""
        state = "firing" if alert.firing else "resolved"
        source_ref = alert_ref(notice, alert)
        key = f"timeline.alert_{state}" + ("_link" if alert.link else "")
        params = {"source": notice.source_name, "summary": alert.summary}
        if alert.link:
            params["link"] = alert.link
        at = (alert.starts_at if alert.firing else alert.ends_at) or self._clock.now()
        added = await self._event(
            repo,
            row,
            at=min(at, self._clock.now()),
            kind=EventKind.ALERT,
            actor=None,
            text=Msg(key, **params),
            data={"alert": state, "fingerprint": alert.fingerprint[:64], "source": notice.source},
            source_ref=source_ref,
            fx=fx,
        )
        return int(added)


def alert_ref(notice: AlertNotice, alert: Alert) -> str:
    """The timeline's key of one alert in one state (firing from a start, or resolved), per incident."""
    state = "firing" if alert.firing else "resolved"
    started = alert.starts_at.isoformat() if alert.starts_at is not None else ""
    identity = f"{notice.source}\n{alert.fingerprint}\n{state}\n{started}"
    return "alert:" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:40]


def _summary(alert: Alert) -> str:
    """The declared incident's summary: the first alert's words and link."""
    return f"{alert.summary}\n{alert.link}" if alert.link else alert.summary
