"""End-to-end fixtures: the real app over HTTP, a Slack stand-in checking each call against Slack's spec."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from standin.harness import Hashi, running_hashi
from standin.spec import ApiSpec


@pytest.fixture(scope="session")
def slack_spec() -> ApiSpec:
    """Slack's published Web API spec, from the facts table derived from it (standin/slack_facts.json)."""
    return ApiSpec.load()


async def _running(url: str, spec: ApiSpec) -> AsyncIterator[Hashi]:
    async with running_hashi(database_url=url, spec=spec, timezone="Asia/Tokyo") as hashi:
        yield hashi
        assert hashi.standin.rejections == [], "a Web API call broke Slack's published spec"


@pytest.fixture
async def hashi(tmp_path: Path, slack_spec: ApiSpec) -> AsyncIterator[Hashi]:
    """Hashi on SQLite against the stand-in."""
    async for running in _running(f"sqlite:///{tmp_path / 'hashi.db'}", slack_spec):
        yield running


@pytest.fixture
async def hashi_on_both(database_url: str, slack_spec: ApiSpec) -> AsyncIterator[Hashi]:
    """Hashi on SQLite and on PostgreSQL against the stand-in."""
    async for running in _running(database_url, slack_spec):
        yield running
