"""The web list's filters in SQL, on SQLite and PostgreSQL: status, severity, service, start, words."""

from __future__ import annotations

from datetime import timedelta

from bot.incidents.service import IncidentService
from storage.repository import Store
from storage.statements import IncidentFilter
from tests.fakes import FixedClock


async def test_each_filter_narrows_the_visible_list(
    store: Store, service: IncidentService, clock: FixedClock
) -> None:
    await service.declare(title="Checkout 500s", actor="U1", severity="SEV1", services=["checkout", "api"])
    await service.declare(title="決済のエラー", actor="U1", severity="SEV2", services=["決済"])
    await service.declare(title="Search 100% lag_x", actor="U2", severity="SEV3", services=["search"])
    await service.declare(title="Vault leak", actor="U1", severity="SEV1", services=["vault"], private=True)
    await service.resolve(incident_id=1, actor="U1")

    async def titles(wanted: IncidentFilter, user: str = "U2") -> list[str]:
        async with store.transaction() as repo:
            rows, total = await repo.incidents_visible_to(user_id=user, open_only=False, wanted=wanted)
        assert total == len(rows)
        return [row.title for row in rows]

    # Open ones first, then newest first; the private one only for the people in it.
    assert await titles(IncidentFilter()) == ["Search 100% lag_x", "決済のエラー", "Checkout 500s"]
    assert await titles(IncidentFilter(), user="U1") == [
        "Vault leak", "Search 100% lag_x", "決済のエラー", "Checkout 500s"
    ]  # fmt: skip
    assert await titles(IncidentFilter(statuses=("resolved",))) == ["Checkout 500s"]
    assert await titles(IncidentFilter(severities=("SEV1",))) == ["Checkout 500s"]
    assert await titles(IncidentFilter(service="API")) == ["Checkout 500s"]
    assert await titles(IncidentFilter(service="決済")) == ["決済のエラー"]
    assert await titles(IncidentFilter(service="vault")) == []
    assert await titles(IncidentFilter(service="check")) == []  # a whole name, not a part of one
    assert await titles(IncidentFilter(text="search LAG")) == ["Search 100% lag_x"]
    assert await titles(IncidentFilter(text="100%")) == ["Search 100% lag_x"]  # % is a character here
    assert await titles(IncidentFilter(text="g_x")) == ["Search 100% lag_x"]
    assert await titles(IncidentFilter(text="エラー")) == ["決済のエラー"]
    assert await titles(IncidentFilter(types=("default",))) == [
        "Search 100% lag_x", "決済のエラー", "Checkout 500s"
    ]  # fmt: skip
    assert await titles(IncidentFilter(types=("security",))) == []
    assert await titles(IncidentFilter(started_since=clock.now() + timedelta(minutes=1))) == []
    assert len(await titles(IncidentFilter(started_since=clock.now() - timedelta(days=1)))) == 3
