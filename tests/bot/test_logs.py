"""Structured logs carry the incident, the delivery and the Slack method."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonLogFormatter, TextLogFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "hashi.test", logging.WARNING, __file__, 1, "card %s failed", ("update",), None
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_carry_context() -> None:
    line = JsonLogFormatter().format(
        _record(incident_id=3, delivery_id="event:Ev1", slack_method="chat.update")
    )
    entry = json.loads(line)
    assert entry["message"] == "card update failed" and entry["level"] == "warning"
    assert (entry["incident_id"], entry["delivery_id"], entry["slack_method"]) == (
        3,
        "event:Ev1",
        "chat.update",
    )
    assert entry["time"].endswith("+00:00")


def test_text_lines_show_context_when_there_is_some() -> None:
    assert TextLogFormatter().format(_record(incident_id=3)).endswith("card update failed [incident_id=3]")
    assert TextLogFormatter().format(_record()).endswith("card update failed")


def test_japanese_stays_readable_in_json() -> None:
    record = logging.LogRecord("hashi", logging.INFO, __file__, 1, "決済 %s", ("障害",), None)
    assert "決済 障害" in JsonLogFormatter().format(record)
