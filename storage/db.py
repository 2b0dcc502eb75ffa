"""Engines for SQLite and PostgreSQL, and a UTC-only datetime column type."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from storage.sqlite_inline import begin_at_once, inline_creator


class DatabaseURLError(ValueError):
    """The database URL is not one Hashi can use."""


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them UTC-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def async_url(url: str) -> str:
    """Turns `sqlite:///…` / `postgresql://…` into the async driver URL, or raises DatabaseURLError."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseURLError(
            f"cannot parse database URL {url!r}: use sqlite:///path.db or postgresql://…"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise DatabaseURLError(
        f"unsupported database {backend!r}: use sqlite:///path.db or postgresql://user@host/db"
    )


def in_memory(url: str) -> bool:
    """Whether the database lives in this process's memory (one shared connection; no other process can
    reach it, to migrate it or otherwise)."""
    if not url.startswith("sqlite"):
        return False
    database = make_url(url).database or ":memory:"
    return database == ":memory:" or database.startswith("file::memory:")


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Creates the async engine for HASHI_DATABASE_URL (SQLite: on the loop's thread, storage.sqlite_inline;
    WAL, foreign keys, synchronous NORMAL)."""
    real = async_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    is_sqlite = real.startswith("sqlite")
    if is_sqlite:
        kwargs["async_creator"] = inline_creator(make_url(real).database or ":memory:")
        if in_memory(real):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(real, **kwargs)
    if is_sqlite:
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so that "begin" below decides their kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Never wait inside SQLite for another process's lock: storage.sqlite_inline sleeps in asyncio.
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: two writers wait on busy_timeout instead of one failing
        # with SQLITE_BUSY when it upgrades a read transaction (in one process they queue in Store first).
        # Straight to sqlite3 when the lock is free (no statement machinery for one keyword); when another
        # process holds it, through SQLAlchemy, whose driver call waits for it in asyncio.
        if not begin_at_once(conn.connection.driver_connection):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_file(url: str) -> Path | None:
    """The file a `sqlite:///…` URL names (relative to the current folder), or None (memory, PostgreSQL)."""
    real = async_url(url)
    database = make_url(real).database
    if not real.startswith("sqlite") or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None  # a URI filename (file::memory:, file:x.db?mode=ro) says more than a path
    return Path(database).resolve()
