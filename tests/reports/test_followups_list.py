"""`hashi followups list`: age, owner and ticket per follow-up; a private incident's are counted, not told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.incidents.model import FollowupRow
from bot.reports.followups import followups_json, followups_table

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _row(**changes: object) -> FollowupRow:
    values: dict[str, object] = {
        "id": 1,
        "incident_id": 12,
        "private": False,
        "text": "Alert on queue depth",
        "owner": "U0BOB",
        "created_at": NOW - timedelta(days=2, hours=3),
        "done": False,
        "done_at": None,
        "ticket_state": "open",
        "ticket_key": "OPS-7",
        "url": "https://acme.atlassian.net/browse/OPS-7",
    }
    return FollowupRow(**{**values, **changes})  # type: ignore[arg-type]


def test_json_gives_age_status_and_ticket_and_hides_what_a_private_incident_said() -> None:
    rows = [
        _row(),
        _row(
            id=2, incident_id=13, private=True, text="Rotate the leaked key", ticket_state="pending", url=None
        ),
        _row(id=3, done=True, done_at=NOW - timedelta(days=1, hours=3), ticket_state="closed"),
    ]
    listed = followups_json(rows, now=NOW)
    assert [(f["id"], f["status"], f["age_seconds"]) for f in listed] == [
        (1, "open", 183_600),
        (2, "pending", 183_600),
        (3, "done", 86_400),
    ]
    assert listed[0] | {"age_seconds": 0} == {
        "incident": 12,
        "id": 1,
        "text": "Alert on queue depth",
        "owner": "U0BOB",
        "created_at": "2026-12-05T09:00:00Z",
        "age_seconds": 0,
        "status": "open",
        "ticket": "OPS-7",
        "url": "https://acme.atlassian.net/browse/OPS-7",
        "private": False,
    }
    assert (listed[1]["text"], listed[1]["owner"], listed[1]["private"]) == (None, None, True)
    assert "Rotate" not in str(listed)


def test_the_table_in_each_language() -> None:
    rows = [_row(), _row(id=2, private=True, text="Rotate the leaked key", owner="U0ALICE")]
    table = followups_table(rows, now=NOW, lang="en")
    lines = table.splitlines()
    assert lines[0].split() == ["Incident", "Follow-up", "Owner", "Age", "Status", "Ticket"]
    assert "INC-12" in lines[1] and "Alert on queue depth" in lines[1] and "2d 03h" in lines[1]
    assert "(private incident)" in lines[2] and "Rotate" not in table and "U0ALICE" not in table
    japanese = followups_table(rows, now=NOW, lang="ja")
    assert "インシデント" in japanese and "（非公開インシデント）" in japanese
    assert followups_table([], now=NOW, lang="en") == "No follow-ups.\n"
