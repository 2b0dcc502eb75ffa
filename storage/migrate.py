"""Applies the Alembic migrations (the only way the schema changes) and checks for drift.

`python -m storage.migrate` applies them to the database named by HASHI_MIGRATE_DATABASE_URL and exits
(storage.schema.upgrade_apart: `hashi serve` migrates in such a child, so Alembic never stays resident)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import make_engine
from storage.schema import MIGRATE_URL_ENV

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """Builds the Alembic configuration in code, so no alembic.ini has to sit in the working directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest migration's revision id."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


# Replicas starting together on PostgreSQL take turns migrating (an advisory lock held for the transaction).
MIGRATION_LOCK = 0x68617368  # "hash"


async def upgrade(engine: AsyncEngine, *, revision: str = "head") -> None:
    """Applies every pending migration to the engine's database (one replica at a time)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        await conn.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None for an empty database)."""

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def schema_drift(engine: AsyncEngine) -> list[Any]:
    """The differences between the migrated database and the models (empty when they agree)."""

    def _diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(_diff)


async def _upgrade_url(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class _RecordLines(logging.Handler):
    """Writes each log record as a JSON line on stdout, for the parent to log as its own (its format)."""

    def emit(self, record: logging.LogRecord) -> None:
        line = {"name": record.name, "level": record.levelno, "message": record.getMessage()}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, handlers=[_RecordLines()])
    asyncio.run(_upgrade_url(os.environ[MIGRATE_URL_ENV]))
