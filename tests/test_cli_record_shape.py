"""`hashi stats --by type|field:<name>` and `hashi export` with the team's types and custom fields, as a user
runs them (real subprocesses on data seeded through IncidentService)."""

from __future__ import annotations

import asyncio
import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.incidents.service import IncidentConfig, IncidentService
from bot.settings import TeamConfig
from storage.db import make_engine
from storage.repository import Store
from tests.fakes import FixedClock, RecordingChat
from tests.test_cli import Result, assert_ok, assert_one_line_error, hashi

CONFIG = """
types = ["default", "security", "ja"]

[fields.region]
kind = "select"
choices = ["eu", "us"]
label = { en = "Region", ja = "リージョン" }

[fields.customers]
kind = "number"

[services.checkout]
slo = 99.9
"""


async def _seed(url: str, team: TeamConfig) -> None:
    """Three incidents two days ago: security/eu on checkout, ja/us, and a default one whose services
    changed from search to checkout after the declaration."""
    engine = make_engine(url)
    clock = FixedClock(datetime.now(UTC) - timedelta(days=2))
    config = IncidentConfig(shape=team.record_shape())
    service = IncidentService(store=Store(engine), chat=RecordingChat(), clock=clock, config=config)
    try:
        first = await service.declare(
            title="Card errors",
            actor="U1",
            services=["checkout"],
            incident_type="security",
            fields={"region": "EU", "customers": "12"},
        )
        second = await service.declare(
            title="決済の遅延", actor="U1", incident_type="ja", fields={"region": "us"}
        )
        third = await service.declare(title="Search down", actor="U1", services=["search"])
        clock.advance(minutes=10)
        await service.set_services(incident_id=third.incident.id, actor="U1", replace=["checkout"])
        for setup in (first, second, third):
            clock.advance(minutes=20)
            await service.resolve(incident_id=setup.incident.id, actor="U1")
    finally:
        await engine.dispose()


async def test_stats_group_by_type_and_by_a_select_field(tmp_path: Path) -> None:
    config = tmp_path / "hashi.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'hashi.db'}"
    assert_ok(await hashi("db", "upgrade", cwd=tmp_path, url=url))
    await _seed(url, TeamConfig.model_validate(tomllib.loads(CONFIG)))

    async def run(*args: str) -> Result:
        return await hashi(*args, cwd=tmp_path, url=url, config=config)

    by_type, by_region, table, by_service, not_select, unknown, export, draft = await asyncio.gather(
        run("stats", "--by", "type", "--format", "json"),
        run("stats", "--by", "field:Region", "--format", "json"),
        run("stats", "--by", "field:region", "--lang", "ja"),
        run("stats", "--by", "service", "--format", "json"),
        run("stats", "--by", "field:customers"),
        run("stats", "--by", "colour"),
        run("export", "1", "--format", "json"),
        run("export", "1"),
    )
    for result in (by_type, by_region, table, by_service, export, draft):
        assert_ok(result)
    groups = json.loads(by_type.out)["groups"]
    assert {name: g["count"] for name, g in groups.items()} == {"default": 1, "ja": 1, "security": 1}
    report = json.loads(by_region.out)
    assert report["by"] == "field:region"
    assert {name: g["count"] for name, g in report["groups"].items()} == {"(no value)": 1, "eu": 1, "us": 1}
    assert "region 別" in table.out and "（値なし）" in table.out
    # Availability follows a change of services: checkout carries the third incident too.
    assert json.loads(by_service.out)["services"]["checkout"]["incidents"] == 2
    assert_one_line_error(not_select, 2, "--by field:customers", "select")
    assert_one_line_error(unknown, 2, "--by 'colour'", "type", "field:region")

    data = json.loads(export.out)
    assert (data["type"], data["fields"]) == ("security", {"region": "eu", "customers": 12})
    assert "- **Type:** security" in draft.out
    assert "| Region | eu |" in draft.out and "| customers | 12 |" in draft.out


async def test_a_field_without_its_choices_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "hashi.toml"
    config.write_text('[fields.region]\nkind = "select"\n', encoding="utf-8")
    bad_type = tmp_path / "types.toml"
    bad_type.write_text('types = ["default"]\ndefault_type = "security"\n', encoding="utf-8")
    bad_invite = tmp_path / "invites.toml"
    bad_invite.write_text('[invites]\nSEV9 = ["U0123"]\n', encoding="utf-8")
    results = await asyncio.gather(
        *(hashi("stats", cwd=tmp_path, config=path) for path in (config, bad_type, bad_invite))
    )
    assert_one_line_error(results[0], 2, "fields.region", "choices")
    assert_one_line_error(results[1], 2, "default_type 'security'")
    assert_one_line_error(results[2], 2, "invites.SEV9", "not a severity")
