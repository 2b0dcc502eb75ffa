"""storage.schema knows the schema's head without Alembic: the two must agree, and the check must read it."""

from __future__ import annotations

from pathlib import Path

from storage.db import in_memory, make_engine
from storage.migrate import head_revision, upgrade
from storage.schema import SCHEMA_HEAD, at_head, upgrade_apart


def test_the_schema_head_is_alembics() -> None:
    assert SCHEMA_HEAD == head_revision()


async def test_at_head_only_once_migrated(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        assert not await at_head(engine)  # empty: no alembic_version table
        await upgrade(engine, revision="0012")
        assert not await at_head(engine)
        await upgrade(engine)
        assert await at_head(engine)
    finally:
        await engine.dispose()


async def test_a_child_process_migrates_a_database_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'apart.db'}"
    await upgrade_apart(url)
    engine = make_engine(url)
    try:
        assert await at_head(engine)
    finally:
        await engine.dispose()


def test_in_memory_databases_are_told_apart() -> None:
    assert in_memory("sqlite://") and in_memory("sqlite:///:memory:")
    assert in_memory("sqlite+aiosqlite:///file::memory:?cache=shared")
    assert not in_memory("sqlite:////var/lib/hashi/hashi.db")
    assert not in_memory("postgresql://postgres@127.0.0.1:5432/test")


async def test_a_failed_child_migration_says_why(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no such folder' / 'x.db'}"
    try:
        await upgrade_apart(url)
    except RuntimeError as exc:
        assert "unable to open database file" in str(exc)
    else:
        raise AssertionError("a database that cannot be opened was reported migrated")
