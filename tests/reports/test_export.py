"""`hashi export --format json`: exactly the fields INTERFACE.md promises."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.reports.export import export_json
from storage.stats import MILESTONE_COLUMNS
from tests.reports import scripted
from tests.reports.scripted import event

MILESTONES = MILESTONE_COLUMNS  # the milestone columns, in lifecycle order


def test_has_exactly_the_interface_fields() -> None:
    data = export_json(scripted.japanese())
    assert list(data) == [
        "id",
        "title",
        "severity",
        "status",
        "private",
        "services",
        "lead",
        "channel_id",
        "milestones",
        "metrics",
        "timeline",
        "checklists",
        "followups",
        "type",
        "fields",
    ]
    assert (data["type"], data["fields"]) == ("default", {})
    assert list(data["milestones"]) == list(MILESTONES)
    assert list(data["metrics"]) == [
        "time_to_detect",
        "time_to_acknowledge",
        "time_to_mitigate",
        "time_to_resolve",
        "impact_duration",
    ]
    assert all(list(e) == ["at", "recorded_at", "kind", "actor", "text"] for e in data["timeline"])
    assert all(list(c) == ["playbook", "items"] for c in data["checklists"])
    assert all(
        list(i) == ["title", "done", "done_by", "done_at"] for c in data["checklists"] for i in c["items"]
    )
    assert all(list(f) == ["text", "owner", "done", "status", "ticket", "url"] for f in data["followups"])
    assert "statuspage" not in data  # only when the incident was published on the status page


def test_values() -> None:
    data = json.loads(json.dumps(export_json(scripted.japanese()), ensure_ascii=False))
    assert (data["id"], data["title"], data["severity"], data["status"]) == (
        42,
        "決済APIのエラー率が上昇",
        "SEV2",
        "resolved",
    )
    assert (data["private"], data["services"], data["lead"], data["channel_id"]) == (
        False,
        ["決済", "checkout-api"],
        "U01",
        "C0INC42",
    )
    assert data["milestones"]["impact_started_at"] == "2026-11-24T04:50:00Z"
    assert data["milestones"]["closed_at"] is None
    assert data["metrics"] == {
        "time_to_detect": 480.0,
        "time_to_acknowledge": 120.0,
        "time_to_mitigate": 3000.0,
        "time_to_resolve": 4800.0,
        "impact_duration": 3000.0,
    }
    assert data["checklists"] == [
        {
            "playbook": "SEV2 対応",
            "items": [
                {
                    "title": "オンコールを呼び出す",
                    "done": True,
                    "done_by": "U01",
                    "done_at": "2026-11-24T05:08:00Z",
                },
                {
                    "title": "ステータスページを更新",
                    "done": True,
                    "done_by": "U03",
                    "done_at": "2026-11-24T05:15:00Z",
                },
                {"title": "ポストモーテムを予定する", "done": False, "done_by": None, "done_at": None},
            ],
        }
    ]
    assert data["followups"][1] == {
        "text": "ロールバック手順を文書化",
        "owner": "U01",
        "done": True,
        "status": "done",
        "ticket": None,
        "url": None,
    }


def test_timeline_is_oldest_first_with_both_times() -> None:
    data = export_json(scripted.japanese())
    ats = [e["at"] for e in data["timeline"]]
    assert ats == sorted(ats)
    detected = data["timeline"][0]
    assert detected == {
        "at": "2026-11-24T04:58:00Z",
        "recorded_at": "2026-11-24T05:05:00Z",
        "kind": "milestone",
        "actor": "U02",
        "text": "Detected",
    }


def test_sub_second_times_keep_their_precision() -> None:
    snap = scripted.reopened()
    snap = replace(snap, timeline=(event("2026-11-24 10:00:01", "note", "x"),))
    assert export_json(snap)["timeline"][0]["at"] == "2026-11-24T10:00:01Z"


def test_checklists_are_grouped_by_playbook_in_first_seen_order() -> None:
    base = scripted.japanese()
    first, second, third = base.checklists
    snap = replace(base, checklists=(first, replace(second, playbook="comms"), third))
    assert [c["playbook"] for c in export_json(snap)["checklists"]] == ["SEV2 対応", "comms"]
    assert [len(c["items"]) for c in export_json(snap)["checklists"]] == [2, 1]


def test_private_incident_exports_its_flag() -> None:
    data = export_json(scripted.private())
    assert data["private"] is True
    assert data["metrics"]["time_to_resolve"] is None and data["milestones"]["resolved_at"] is None
