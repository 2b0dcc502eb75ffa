"""Structured (JSON) log lines for `hashi serve --log-format json`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Extra fields a log call may carry (logger.info(..., extra={"incident_id": 12})).
CONTEXT_FIELDS = ("incident_id", "delivery_id", "slack_method", "kind")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the incident/delivery/method context."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
