"""Vendor stand-ins over real HTTP, checked against ../shared/specs (skipped when it is absent)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.standin.vendors.pagerduty import PagerdutyStandIn
from tests.conftest import shared_path


@pytest.fixture
async def pagerduty() -> AsyncIterator[PagerdutyStandIn]:
    """PagerDuty's Events API on 127.0.0.1; the test fails if any call did not fit PagerDuty's spec."""
    shared_path("specs", "pagerduty")
    standin = PagerdutyStandIn.load()
    await standin.start()
    try:
        yield standin
    finally:
        await standin.stop()
