"""The migrated schema equals the models, on SQLite and PostgreSQL, and `hashi db upgrade` applies it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.incidents.service import IncidentService
from storage.db import make_engine
from storage.migrate import current_revision, head_revision, schema_drift, upgrade
from storage.repository import Store
from tests.test_cli import hashi


async def test_migrated_schema_has_no_drift(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision()
        assert await schema_drift(engine) == []
    finally:
        await engine.dispose()


async def test_db_upgrade_command_creates_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = await hashi("db", "upgrade", url=url, cwd=tmp_path)
    assert first.code == 0, first.err
    assert f"revision {head_revision()}" in first.out
    again = await hashi("db", "upgrade", url=url, cwd=tmp_path)
    assert again.code == 0, again.err


async def test_db_upgrade_with_bad_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = await hashi("db", "upgrade", url="mysql://x@y/z", cwd=tmp_path)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "unsupported database" in lines[0]


async def test_db_upgrade_on_postgres(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


def test_milestone_columns_follow_the_milestones_fields() -> None:
    # incident_stats' milestone columns (StatsRow's *_us fields) are Milestones' fields, in their order
    from dataclasses import fields

    from bot.incidents.model import Milestones
    from storage.stats import MILESTONE_COLUMNS

    assert tuple(f.name for f in fields(Milestones)) == MILESTONE_COLUMNS


def _downgrade(connection: Any, revision: str) -> None:
    from alembic import command

    from storage.migrate import alembic_config

    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_0010_keeps_every_incident_and_gives_it_the_default_type(
    store: Store, service: IncidentService
) -> None:
    setup = await service.declare(title="Before types", actor="U1", severity="SEV2", services=["checkout"])
    await service.resolve(incident_id=setup.incident.id, actor="U1")
    async with store.engine.begin() as conn:
        await conn.run_sync(_downgrade, "0009")
    try:
        async with store.engine.begin() as conn:
            columns = (await conn.execute(text("SELECT * FROM incident"))).keys()
            assert "incident_type" not in columns
            assert (await conn.execute(text("SELECT count(*) FROM incident_stats"))).scalar_one() == 1
    finally:
        await upgrade(store.engine)
    snap = await service.snapshot(incident_id=setup.incident.id)
    assert (snap.title, snap.services, snap.incident_type, dict(snap.fields)) == (
        "Before types",
        ("checkout",),
        "default",
        {},
    )
    assert [e.kind for e in snap.timeline] == ["declared", "resolved"]
    async with store.engine.begin() as conn:
        row = (await conn.execute(text("SELECT incident_type, custom_fields FROM incident_stats"))).one()
    assert tuple(row) == ("default", None)
