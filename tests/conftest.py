"""Shared fixtures: stores on SQLite and on the real PostgreSQL server, a fixed clock, a recording Chat."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.incidents.service import IncidentConfig, IncidentService
from standin.vendors.pagerduty import PagerdutyStandIn
from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import Store
from tests.fakes import FixedClock, RecordingChat

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout; HASHI_SHARED_DIR names it when the checkout is a worktree elsewhere.
SHARED = Path(os.environ.get("HASHI_SHARED_DIR") or REPO_ROOT.parent / "shared")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TABLES = (
    "incident_stats",
    "timeline_event",
    "role_assignment",
    "participant",
    "checklist_item",
    "followup",
    "scheduled_reminder",
    "processed_delivery",
    "statuspage_incident",
    "alert_group",
    "page",
    "incident",
)


def shared_path(*parts: str) -> Path:
    """A file of ../shared (reference data beside the checkout), or a skip when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/{'/'.join(parts)} not found beside the checkout (reference data lives there)")
    return path


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to the end on its own loop (session fixtures may be set up inside a test's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg_reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A freshly created and migrated PostgreSQL database for this test session."""
    configured = os.environ.get("HASHI_TEST_POSTGRES_URL")
    admin_url = configured or DEFAULT_PG
    if not _run(_pg_reachable(admin_url)):
        if configured:
            pytest.fail(f"HASHI_TEST_POSTGRES_URL={configured} does not answer")
        pytest.skip(
            "no PostgreSQL server answers at 127.0.0.1:5432 (set HASHI_TEST_POSTGRES_URL to run these)"
        )
    name = f"hashi_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    _run(create())
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    async def migrate() -> None:
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()

    _run(migrate())
    yield url
    _run(drop())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once for this test session (worker), which each test gets a copy of: Alembic
    through every migration was about 40 ms a test."""
    path = tmp_path_factory.mktemp("migrated") / "template.db"

    async def migrate() -> None:
        engine = make_engine(f"sqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    _run(migrate())
    assert not path.with_name(path.name + "-wal").exists()  # all of it is in the file (the last close)
    return path


@pytest.fixture
async def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite database file for one test."""
    return _sqlite(tmp_path, sqlite_template)


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite and on PostgreSQL (emptied before each test)."""
    if request.param == "sqlite":
        return _sqlite(tmp_path, request.getfixturevalue("sqlite_template"))
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    await engine.dispose()
    return url


def _sqlite(tmp_path: Path, template: Path) -> str:
    target = tmp_path / "hashi.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A store on each backend."""
    engine = make_engine(database_url)
    yield Store(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at 2026-11-24 05:00 UTC (14:00 in Tokyo)."""
    return FixedClock(datetime(2026, 11, 24, 5, 0, tzinfo=UTC))


@pytest.fixture
def chat() -> RecordingChat:
    """A Chat that records every effect."""
    return RecordingChat()


@pytest.fixture
def service(store: Store, chat: RecordingChat, clock: FixedClock) -> IncidentService:
    """The incident service on a real store, a recording Chat and a fixed clock."""
    return IncidentService(
        store=store, chat=chat, clock=clock, config=IncidentConfig(announce_channel="CANNOUNCE")
    )


@pytest.fixture
async def pagerduty() -> AsyncIterator[PagerdutyStandIn]:
    """PagerDuty's Events API on 127.0.0.1, checking every call against ../shared/specs/pagerduty."""
    shared_path("specs", "pagerduty")
    standin = PagerdutyStandIn.load()
    await standin.start()
    try:
        yield standin
    finally:
        await standin.stop()
