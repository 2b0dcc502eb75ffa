"""The migrated schema equals the models, on SQLite and PostgreSQL, and `hashi db upgrade` applies it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from storage.db import make_engine
from storage.migrate import current_revision, head_revision, schema_drift

REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_migrated_schema_has_no_drift(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision()
        assert await schema_drift(engine) == []
    finally:
        await engine.dispose()


def _hashi(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_db_upgrade_command_creates_and_is_idempotent(tmp_path: Path) -> None:
    env = {"HASHI_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    first = _hashi("db", "upgrade", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"revision {head_revision()}" in first.stdout
    again = _hashi("db", "upgrade", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_db_upgrade_with_bad_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _hashi("db", "upgrade", env={"HASHI_DATABASE_URL": "mysql://x@y/z"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unsupported database" in lines[0]


async def test_db_upgrade_on_postgres(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


def test_milestone_columns_follow_the_milestones_fields() -> None:
    # IncidentFactTable builds Milestones positionally from the columns stats_rows reads
    from dataclasses import fields

    from bot.incidents.model import Milestones
    from storage.stats import MILESTONE_COLUMNS

    assert tuple(f.name for f in fields(Milestones)) == MILESTONE_COLUMNS
