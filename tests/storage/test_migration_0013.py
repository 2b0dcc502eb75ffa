"""Migration 0013 (follow-ups' tickets, the Statuspage incident) keeps what was stored, both ways, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import make_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade


def _before_0013() -> str:
    """The revision 0013 follows (whatever the merge order of the branches made it)."""
    down = ScriptDirectory.from_config(alembic_config()).get_revision("0013").down_revision
    assert isinstance(down, str)
    return down


_BEFORE = _before_0013()


def _at(conn: AsyncConnection, hour: int) -> object:
    """A time as each driver takes it in raw SQL (SQLite stores text, asyncpg wants a datetime)."""
    when = datetime(2026, 11, 1, hour, tzinfo=UTC)
    return when if conn.dialect.name == "postgresql" else when.strftime("%Y-%m-%d %H:%M:%S")


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_followups_recorded_before_keep_their_text_and_get_no_ticket(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade, _BEFORE)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO incident (id, title, summary, severity, status, private, services,"
                    " declared_at, updated_at, setup_error, card_pinned, topic_set, revision, card_revision)"
                    " VALUES (7, 'Old one', '', 'SEV2', 'resolved', false, '[]', :at, :at, '', false, false,"
                    " 0, 0)"
                ),
                {"at": _at(conn, 10)},
            )
            await conn.execute(
                text(
                    "INSERT INTO followup (incident_id, text, owner, done, created_by, created_at)"
                    " VALUES (7, 'Add an alert', 'U1', true, 'U2', :at)"
                ),
                {"at": _at(conn, 11)},
            )
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT text, owner, done, tracker, ticket_state, ticket_key, ticket_url"
                        " FROM followup"
                    )
                )
            ).one()
        assert tuple(row) == ("Add an alert", "U1", True, "", "", None, None)
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade, _BEFORE)
        async with engine.connect() as conn:
            kept = (await conn.execute(text("SELECT text, done FROM followup"))).one()
        assert tuple(kept) == ("Add an alert", True)
        await upgrade(engine)
    finally:
        await engine.dispose()
