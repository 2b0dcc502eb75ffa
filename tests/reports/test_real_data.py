"""Metrics on real public incidents (../shared/data/incidents, beside the checkout; never copied here).

Expected figures: that folder's SOURCE.md, and the oracle of the test the GitHub data was taken from.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Literal

import pytest

from bot.incidents.model import Milestones, Status
from bot.reports.metrics import distribution, incident_metrics
from bot.reports.stats import StatsReport, compute_stats
from tests.conftest import shared_path
from tests.reports.facts import IncidentFacts, rows_of

SCHEDULED = {"scheduled", "in_progress", "verifying", "completed"}

# Every test here reads the real incidents, which stay in ../shared (README.md, "Tests that need ../shared").
pytestmark = pytest.mark.reference_data


def load(name: str) -> Any:
    return json.loads(shared_path("data", "incidents", name).read_text(encoding="utf-8"))


def ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def stamp_of(update: dict[str, Any], stamp: str) -> datetime:
    """The update's time of record (`created_at`, or `display_at` which responders may backfill)."""
    return datetime.fromisoformat((update.get(stamp) or update["created_at"]).replace("Z", "+00:00"))


def statuspage_facts(name: str, *, stamp: str = "created_at") -> list[IncidentFacts]:
    """Statuspage v2 incidents as Hashi would have recorded them, with the update times as the record.

    declared = the first update; mitigated = the first `monitoring` update (or `monitoring_at`);
    resolved = the first `resolved` update (or `resolved_at`). Scheduled maintenances are not incidents.
    """
    facts = []
    for number, incident in enumerate(load(name)["incidents"]):
        updates = incident["incident_updates"]
        if any(u["status"] in SCHEDULED for u in updates):
            continue
        timed = sorted(((stamp_of(u, stamp), u["status"]) for u in updates), key=lambda p: p[0])

        def first(status: str, timed: Any = timed) -> datetime | None:
            return next((when for when, s in timed if s == status), None)

        facts.append(
            IncidentFacts(
                id=number,
                severity=incident.get("impact") or "none",
                services=(),
                private=False,
                status=Status.RESOLVED if incident["status"] == "resolved" else Status.INVESTIGATING,
                milestones=Milestones(
                    declared_at=timed[0][0] if timed else ts(incident["created_at"]),
                    mitigated_at=first("monitoring") or ts(incident.get("monitoring_at")),
                    resolved_at=first("resolved") or ts(incident.get("resolved_at")),
                ),
            )
        )
    return facts


def stats_of(
    facts: list[IncidentFacts],
    *,
    by: Literal["severity", "service"] | None = None,
    slos: dict[str, float] | None = None,
) -> StatsReport:
    """Stats over a window that holds every incident."""
    starts = [f.milestones.start for f in facts if f.milestones.start is not None]
    since, until = min(starts), max(starts) + timedelta(days=1)
    return compute_stats(rows_of(facts), since=since, until=until, now=until, by=by, slos=slos or {})


def minutes(seconds: float | None) -> float:
    assert seconds is not None
    return seconds / 60


def test_github_time_to_resolve_matches_the_stactus_oracle() -> None:
    incidents = load("statuspage_v2_github_2024-09-16_incidents.json")["incidents"]
    durations = []
    for incident in incidents:
        updates = incident["incident_updates"]
        start = min(stamp_of(u, "created_at") for u in updates)
        resolved = next(stamp_of(u, "created_at") for u in updates if u["status"] == "resolved")
        durations.append(
            incident_metrics(Milestones(declared_at=start, resolved_at=resolved)).time_to_resolve
        )
    assert durations == [2256.535, 3496.608]


def test_github_median_matches_source_md() -> None:
    (group,) = stats_of(statuspage_facts("statuspage_v2_github_2024-09-16_incidents.json", stamp="x")).groups
    # SOURCE.md rounds each incident to 0.1 min first (37.6 and 58.3 → 48.0); exact: 47.94.
    assert minutes(group.metric("time_to_resolve").p50) == pytest.approx(48.0, abs=0.1)


@pytest.mark.parametrize(
    ("stamp", "median", "mean"),
    [("created_at", 40.0, 330.9), ("display_at", 83.8, 357.9)],
)
def test_emma_time_to_resolve_matches_source_md(stamp: str, median: float, mean: float) -> None:
    """SOURCE.md's lesson 1: backfilled display_at doubles the median, so the record must pick one."""
    report = stats_of(statuspage_facts("statuspage_v2_emma_incidents.json", stamp=stamp))
    resolve = report.groups[0].metric("time_to_resolve")
    assert resolve.count == report.count == 22
    assert minutes(resolve.p50) == pytest.approx(median, abs=0.1)
    assert minutes(resolve.mean) == pytest.approx(mean, abs=0.1)
    assert minutes(resolve.max) == pytest.approx(5671.3, abs=0.1)
    # SOURCE.md's lesson 2: the mean is several times the median on skewed data.
    assert minutes(resolve.mean) > 3 * minutes(resolve.p50)


def test_emma_time_to_mitigate_matches_source_md() -> None:
    mitigate = (
        stats_of(statuspage_facts("statuspage_v2_emma_incidents.json")).groups[0].metric("time_to_mitigate")
    )
    assert mitigate.count == 14
    assert minutes(mitigate.p50) == pytest.approx(49.9, abs=0.1)
    assert minutes(mitigate.mean) == pytest.approx(57.9, abs=0.1)
    assert minutes(mitigate.max) == pytest.approx(192.5, abs=0.1)


def test_quay_skips_the_maintenance_and_matches_source_md() -> None:
    report = stats_of(statuspage_facts("statuspage_v2_quay_2015-2016_incidents.json"), by="severity")
    assert report.count == 9
    everything = stats_of(statuspage_facts("statuspage_v2_quay_2015-2016_incidents.json")).groups[0]
    resolve = everything.metric("time_to_resolve")
    assert minutes(resolve.p50) == pytest.approx(197.4, abs=0.1)
    assert minutes(resolve.mean) == pytest.approx(417.2, abs=0.1)
    assert minutes(resolve.max) == pytest.approx(1639.4, abs=0.1)
    assert sum(g.count for g in report.groups) == 9


def yandex_facts() -> list[IncidentFacts]:
    """Yandex Cloud incidents: startDate/endDate are the impact window; createdAt is when it was declared."""
    facts = []
    for item in load("yandex_cloud_status_incidents_ycs.json")["items"]:
        created = ts(item["createdAt"])
        facts.append(
            IncidentFacts(
                id=item["id"],
                severity=f"level{item['levelId']}",
                services=tuple(s["name"] for s in item["services"]),
                private=False,
                status=Status.INVESTIGATING if item["status"] == "open" else Status.RESOLVED,
                milestones=Milestones(
                    impact_started_at=ts(item["startDate"]),
                    impact_ended_at=ts(item["endDate"]),
                    # The public post is the first sign anyone noticed, so it stands for detection too.
                    detected_at=created,
                    declared_at=created,
                ),
            )
        )
    return facts


def test_yandex_impact_and_detection_lag_match_source_md() -> None:
    report = stats_of(yandex_facts())
    (group,) = report.groups
    impact, detect = group.metric("impact_duration"), group.metric("time_to_detect")
    assert impact.count == detect.count == 20
    assert minutes(impact.p50) == pytest.approx(271.5)
    assert minutes(impact.max) == 6930
    assert minutes(impact.mean) == pytest.approx(626.4, abs=0.1)
    assert minutes(detect.p50) == pytest.approx(116.2, abs=0.1)
    assert minutes(detect.max) == pytest.approx(3720, abs=0.5)
    flags = {f.name: f.count for f in report.flags}
    # Declared after the impact ended is an after-the-fact record, allowed; one incident is still open.
    assert flags == {"missing_acknowledgement": 20, "out_of_order": 0, "still_open": 1}


def test_yandex_availability_is_consistent_with_the_budget() -> None:
    slos = {"Compute Cloud": 0.999, "Virtual Private Cloud": 0.9995, "Audit Trails": 0.99}
    report = stats_of(yandex_facts(), by="service", slos=slos)
    for service in report.services:
        assert 0 <= service.availability <= 1
        assert service.availability == pytest.approx(1 - service.error_budget_used * (1 - service.slo))
        group = next(g for g in report.groups if g.name == service.service)
        # Merged impact never exceeds the sum of the incidents' own impact.
        total = (group.metric("impact_duration").mean or 0) * group.metric("impact_duration").count
        assert service.impact_seconds <= total + 1e-6
    vpc = next(s for s in report.services if s.service == "Virtual Private Cloud")
    assert vpc.incidents == 8 and vpc.error_budget_used > 1


def test_gce_postmortem_durations_distribution() -> None:
    durations = [p["duration"] * 60.0 for p in load("issre22_google_GCE_postmortems.json").values()]
    d = distribution(durations)
    assert d.count == 23
    assert minutes(d.p50) == 128
    assert minutes(d.mean) == pytest.approx(892.6, abs=0.1)
    assert minutes(d.max) == 10420
    assert minutes(d.p90) > minutes(d.p50) * 10  # a long tail: means alone would mislead
