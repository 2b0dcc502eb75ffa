"""The set-up, checked and described: `hashi doctor`, `hashi manifest`, `hashi playbooks check`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, UsageError
from bot.settings import Settings

# The Slack and database stacks load only for commands that need them, so `hashi --help` starts fast.
if TYPE_CHECKING:
    from bot.doctor import Check
    from bot.incidents.service import IncidentService


async def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    """Checks everything Hashi depends on, says what to fix, and creates nothing; exit 1 when something is
    wrong. A check that cannot run says why."""
    from bot.doctor import (
        SLACK_CHECKS,
        Check,
        check_database,
        check_integrations,
        check_settings,
        check_slack,
        missing_database,
        skipped,
    )
    from bot.runtime import build_runtime
    from storage.db import make_engine
    from storage.repository import Store

    checks = check_settings(settings)
    absent = missing_database(settings.env.database_url)
    if absent is not None:
        checks.append(Check("database", False, absent))
    else:
        engine = make_engine(settings.env.database_url)
        try:
            checks += await check_database(Store(engine))
        finally:
            await engine.dispose()
    if settings.env.slack_bot_token:
        runtime = await build_runtime(settings, migrate=False)
        try:
            checks += await check_slack(settings, runtime.gateway)
            if args.repair:
                checks += await _repair(runtime.service, checks)
        finally:
            await runtime.close()
    else:
        checks += [skipped(name, "SLACK_BOT_TOKEN is not set") for name in SLACK_CHECKS]
        if args.repair:
            checks.append(skipped("repair", "SLACK_BOT_TOKEN is not set"))
    checks += await check_integrations(settings)
    for check in checks:
        print(check.line())
    return EXIT_OK if all(c.ok for c in checks) else EXIT_ERROR


async def _repair(service: IncidentService, checks: list[Check]) -> list[Check]:
    """`hashi doctor --repair`: finishes the Slack set-up of incidents a failure left incomplete, when the
    database and the token work."""
    from bot.doctor import Check, skipped

    broken = [c.name for c in checks if c.name in ("database", "slack token") and not c.ok]
    if broken:
        return [skipped("repair", f"the {' and the '.join(broken)} check failed")]
    repaired = []
    for setup in await service.repair_rooms():
        missing = ", ".join(setup.missing)
        repaired.append(Check(f"repair INC-{setup.incident.id}", not missing, missing or "set up"))
    return repaired or [Check("repair", True, "every incident's Slack set-up is complete")]


def cmd_manifest(_settings: Settings, args: argparse.Namespace) -> int:
    """Prints the Slack app manifest."""
    from bot.slack.manifest import manifest_yaml

    if args.socket_mode and args.url:
        raise UsageError(
            "--socket-mode and --url exclude each other: Socket Mode needs no public URL (leave out --url); "
            "HTTP mode is --url alone"
        )
    if not args.socket_mode and not args.url:
        raise UsageError(
            "say how Slack reaches Hashi: --socket-mode (no public address needed) or --url https://… "
            "(HTTP mode: the public HTTPS address of `hashi serve`)"
        )
    if args.url:
        parts = urlsplit(args.url)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise UsageError(
                f"--url {args.url!r} is not an https:// address: Slack sends requests only to a public "
                "HTTPS URL, like --url https://hashi.example.com (or use --socket-mode)"
            )
    sys.stdout.write(manifest_yaml(socket_mode=args.socket_mode, url=args.url))
    return EXIT_OK


def cmd_playbooks_check(settings: Settings, args: argparse.Namespace) -> int:
    """Validates playbook files; each problem as `file:line: reason`, exit 2 when there are any."""
    from bot.incidents.playbooks import load_playbooks

    directory: Path = args.dir or settings.playbooks_dir
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder of playbooks")
    playbooks, problems = load_playbooks(
        directory, severities=settings.team.severities, roles=settings.team.roles
    )
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{len(playbooks)} playbook(s) OK in {directory}")
    return EXIT_OK
