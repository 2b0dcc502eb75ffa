"""Whether the database's schema is current, and bringing it there in a process of its own, without loading
Alembic here: its tooling (Alembic, Mako, Pygments: about 7 MiB) would stay resident in a long-running
server for the rest of its life, for a few hundred milliseconds of work at its start."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# The newest migration's revision (storage/migrations/versions). A test holds it equal to Alembic's head, so a
# new migration without this line changed fails there.
SCHEMA_HEAD = "0013"
# The variable through which a migrating child process learns the database (never on its command line, which
# anyone on the machine can read).
MIGRATE_URL_ENV = "HASHI_MIGRATE_DATABASE_URL"


async def at_head(engine: AsyncEngine) -> bool:
    """Whether the database is migrated to SCHEMA_HEAD (one small read; False for an empty database)."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except DBAPIError:  # no alembic_version table: a database never migrated
        return False
    return [str(row[0]) for row in rows] == [SCHEMA_HEAD]


async def upgrade_apart(url: str) -> None:
    """Applies the pending migrations in a child process (`python -m storage.migrate`), which exits when
    done; raises RuntimeError with what it said when it fails."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "storage.migrate",
        env={**os.environ, MIGRATE_URL_ENV: url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await child.communicate()
    for line in out.decode(errors="replace").splitlines():
        # What the child logged (Alembic's "Running upgrade …"), logged here as this process logs.
        try:
            record = json.loads(line)
            logging.getLogger(str(record["name"])).log(int(record["level"]), "%s", record["message"])
        except (ValueError, KeyError, TypeError):
            log.info("%s", line)
    if child.returncode != 0:
        raise RuntimeError(f"migrating the database failed: {err.decode(errors='replace').strip()[-2000:]}")
