"""Structured (JSON) log lines for `hashi serve --log-format json`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Extra fields a log call may carry (logger.info(..., extra={"incident_id": 12})).
CONTEXT_FIELDS = ("incident_id", "delivery_id", "slack_method", "kind")


def context_of(record: logging.LogRecord) -> dict[str, object]:
    """The incident, delivery and Slack-method context a log call carried."""
    return {name: getattr(record, name) for name in CONTEXT_FIELDS if hasattr(record, name)}


class TextLogFormatter(logging.Formatter):
    """`time level logger: message [incident_id=3 slack_method=chat.postMessage]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = context_of(record)
        return line + (" [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]" if context else "")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the incident/delivery/method context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(context_of(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class OnlyMigrations(logging.Filter):
    """Lets through Alembic's line for each migration it runs, and none of its notes on the dialect, which
    would otherwise greet every start of `hashi serve` with nothing to migrate."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage().startswith(("Running upgrade", "Running downgrade", "Running stamp"))


def quiet_libraries() -> None:
    """Alembic says only what it migrates: its plugins' set-up (at import) and its dialect notes are noise."""
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, OnlyMigrations) for f in migration.filters):
        migration.addFilter(OnlyMigrations())
