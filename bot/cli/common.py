"""What the `hashi` commands share: exit codes, usage errors, incident ids, logging, the heap, the store."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.logs import JsonLogFormatter, TextLogFormatter, quiet_libraries
from bot.settings import Settings

# The Slack and database stacks load only for commands that need them, so `hashi --help` starts fast.
if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from storage.repository import Store


EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


MAX_INCIDENT_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


class UsageError(Exception):
    """Bad usage or input: exit status 2."""


class Unavailable(Exception):
    """Something Hashi needs does not answer (the database): exit status 1, saying what to check."""


def parse_incident_id(text: str) -> int:
    """`12`, `INC-12` or `#12` → 12."""
    from bot.slack.bodies import id_number

    cleaned = text.strip().lstrip("#")
    if cleaned.lower().startswith("inc-"):
        cleaned = cleaned[4:]
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise UsageError(f"{text!r} is not an incident id (use 12, INC-12 or #12)")
    number = id_number(cleaned)
    if number is None or number > MAX_INCIDENT_ID:
        raise UsageError(f"there is no incident {text} (ids go up to {MAX_INCIDENT_ID})")
    return number


# CPython collects its youngest generation of container objects every 700 allocations. Under a burst of
# requests thousands of objects are alive at any moment (each request's work waiting for the answers to go
# out), so every collection moved them on, and a full collection over all of them stalled the event loop for
# 40-55 ms in the middle of the burst, the tail of the ack latency (bench/ack_latency.py: 1,800 collections
# and 14 full ones per run at 700; 90 and none at 10,000).
YOUNG_GENERATION = 10_000


def settle_heap() -> None:
    """Once start-up is done: what it built (modules, catalogues, settings) lives as long as the process and
    leaves the collector's view, and the young generation may grow to YOUNG_GENERATION before a collection."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)


def configure_logging(fmt: str) -> None:
    """Plain or JSON log lines on stderr."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(TextLogFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    quiet_libraries()


async def with_store(
    settings: Settings, work: Callable[[Store], Awaitable[int]], *, create: bool = False
) -> int:
    """Runs `work` on the configured database; only `create` (`hashi db upgrade`) may make a new SQLite file,
    since for the others an empty one left behind would only hide the mistake."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from bot.doctor import missing_database
    from storage.db import make_engine
    from storage.repository import Store

    absent = None if create else missing_database(settings.env.database_url)
    if absent is not None:
        raise UsageError(absent)
    engine = make_engine(settings.env.database_url)
    settle_heap()
    try:
        return await work(Store(engine))
    except OSError as exc:  # refused, unknown host, timed out: the server, not the schema
        shown = make_url(settings.env.database_url).render_as_string(hide_password=True)
        raise Unavailable(
            f"cannot reach the database at {shown} ({type(exc).__name__}: {exc}): is the server running and "
            "reachable from here? HASHI_DATABASE_URL names it"
        ) from exc
    except DBAPIError:
        await require_current_schema(engine)
        raise
    finally:
        await engine.dispose()


async def require_current_schema(engine: AsyncEngine) -> None:
    """After a database error: a UsageError saying how to upgrade when the schema is not this Hashi's (a
    database from an older version, or none yet); returns when it is, or when that cannot be told."""
    from storage.migrate import current_revision, head_revision

    try:
        found = await current_revision(engine)
    except Exception:  # the database does not answer at all: the original error says more
        return
    wanted = head_revision()
    if found != wanted:
        raise UsageError(
            f"the database is at schema revision {found or 'none (empty)'} and this Hashi needs {wanted}: "
            "run `hashi db upgrade` first (`hashi serve` upgrades at start)"
        )


def write_stdout(text: str) -> None:
    """Writes UTF-8 whatever the terminal's encoding (Japanese text on a cp1252 console included)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()
