"""An integration without its secret is refused at start; `hashi doctor` checks each configured one."""

from __future__ import annotations

from pathlib import Path

from standin.vendors.pagerduty import PagerdutyStandIn
from tests.test_cli import assert_one_line_error, hashi

PAGERDUTY_TOML = '[integrations.pagerduty]\nseverities = ["SEV1"]\n'


async def test_serve_refuses_a_configured_integration_whose_secret_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "hashi.toml"
    config.write_text(PAGERDUTY_TOML, encoding="utf-8")
    result = await hashi(
        "serve",
        "--http",
        cwd=tmp_path,
        config=config,
        env={"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
    )
    assert_one_line_error(result, 2, "[integrations.pagerduty]", "HASHI_PAGERDUTY_ROUTING_KEY")


async def test_a_misconfigured_integration_table_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "hashi.toml"
    config.write_text('[integrations]\nfollowups = "jira"\n', encoding="utf-8")
    result = await hashi("stats", cwd=tmp_path, config=config)
    assert_one_line_error(result, 2, "[integrations.jira]")
    config.write_text('[integrations.pagerduty]\nseverities = ["SEV9"]\n', encoding="utf-8")
    result = await hashi("stats", cwd=tmp_path, config=config)
    assert_one_line_error(result, 2, "SEV9")


async def test_doctor_says_whether_pagerduty_answers_and_takes_the_key(
    tmp_path: Path, pagerduty: PagerdutyStandIn
) -> None:
    config = tmp_path / "hashi.toml"
    config.write_text(PAGERDUTY_TOML, encoding="utf-8")
    env = {"HASHI_PAGERDUTY_API_URL": pagerduty.api_url, "HASHI_PAGERDUTY_ROUTING_KEY": pagerduty.routing_key}

    def line(out: str) -> str:
        return next(x for x in out.splitlines() if "integration pagerduty" in x)

    fine = await hashi("doctor", cwd=tmp_path, config=config, env=env)
    assert line(fine.out).startswith("✓") and "takes the routing key" in line(fine.out)
    wrong_key = await hashi(
        "doctor", cwd=tmp_path, config=config, env={**env, "HASHI_PAGERDUTY_ROUTING_KEY": "x" * 32}
    )
    assert line(wrong_key.out).startswith("✗") and "Invalid routing key" in line(wrong_key.out)
    assert "HASHI_PAGERDUTY_ROUTING_KEY" in line(wrong_key.out)
    assert pagerduty.problems == []
    await pagerduty.stop()
    down = await hashi("doctor", cwd=tmp_path, config=config, env=env)
    assert down.code == 1
    assert line(down.out).startswith("✗") and "down or unreachable" in line(down.out)
