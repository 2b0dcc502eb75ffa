"""The `hashi` command: its arguments, the dispatch to each command, and the exit status."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bot.cli.common import EXIT_ERROR, EXIT_USAGE, Unavailable, UsageError, write_stdout
from bot.cli.records import cmd_db_upgrade, cmd_export, cmd_followups, cmd_stats
from bot.cli.serve import cmd_serve
from bot.cli.setup import cmd_doctor, cmd_manifest, cmd_playbooks_check
from bot.incidents.errors import IncidentError
from bot.incidents.windows import PERIODS
from bot.settings import ConfigError, Settings, load_settings


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"hashi: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line of INTERFACE.md."""
    parser = _Parser(prog="hashi", description="Hashi: incident response for Slack.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)")
    serve.add_argument("--http", action="store_true", help="serve HTTP even when SLACK_APP_TOKEN is set")
    serve.add_argument("--port", type=int, help="HTTP port (default HASHI_PORT or 3000)")
    serve.add_argument("--log-format", choices=["text", "json"], default="text")

    demo = sub.add_parser(
        "demo", help="run a scripted incident against a local Slack stand-in and print its postmortem"
    )
    demo.add_argument("--lang", choices=["en", "ja"], default="en", help="the workspace's language")
    demo.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="the SQLite file the demo keeps (default: hashi/demo.db under $XDG_DATA_HOME or ~/.local/share)",
    )
    demo.add_argument("--fresh", action="store_true", help="start over with an empty database")
    demo.add_argument(
        "--web", action="store_true", help="then print the incident's web page and serve until interrupted"
    )

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_sub.add_parser("upgrade", help="apply migrations")

    export = sub.add_parser("export", help="the postmortem draft of an incident")
    export.add_argument("incident", help="incident id (12, INC-12 or #12)")
    export.add_argument("--format", choices=["md", "json"], default="md")
    export.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    export.add_argument(
        "--update", type=Path, metavar="FILE", help="refresh Hashi's sections of an existing draft"
    )
    export.add_argument("--tz", help="time zone for displayed times (default HASHI_TIMEZONE)")
    export.add_argument(
        "--lang", choices=["en", "ja"], help="language of the draft (default: hashi.toml's language, else en)"
    )

    stats = sub.add_parser("stats", help="recovery-time metrics")
    stats.add_argument(
        "--since",
        default="30d",
        help="a duration (30d, 12w, 5000d), all, a date or time in HASHI_TIMEZONE (2026-07-01), "
        "or since..until (default 30d)",
    )
    stats.add_argument("--until", help="end of the window: a date or time in HASHI_TIMEZONE (default now)")
    stats.add_argument(
        "--every", choices=list(PERIODS), help="one row per calendar week, month or quarter (a trend)"
    )
    stats.add_argument(
        "--by",
        default=None,
        metavar="severity|service|type|field:NAME",
        help="group by severity, service, incident type, or a select field's value",
    )
    stats.add_argument("--format", choices=["table", "csv", "json"], default="table")
    stats.add_argument(
        "--lang", choices=["en", "ja"], help="language of the table (default: hashi.toml's language, else en)"
    )

    followups = sub.add_parser("followups", help="follow-ups across incidents, and their tickets")
    fu_sub = followups.add_subparsers(dest="followups_command", required=True, parser_class=_Parser)
    fu_list = fu_sub.add_parser("list", help="list follow-ups with their age, owner and ticket")
    fu_list.add_argument("--open", action="store_true", help="only follow-ups not done")
    fu_list.add_argument("--format", choices=["table", "json"], default="table")
    fu_list.add_argument(
        "--lang", choices=["en", "ja"], help="language of the table (default: hashi.toml's language, else en)"
    )
    fu_sub.add_parser(
        "sync", help="file tickets not filed yet, and mark done the follow-ups whose ticket is closed"
    )

    playbooks = sub.add_parser("playbooks", help="playbook commands")
    pb_sub = playbooks.add_subparsers(dest="playbooks_command", required=True, parser_class=_Parser)
    check = pb_sub.add_parser("check", help="validate playbook files")
    check.add_argument("dir", nargs="?", type=Path)

    doctor = sub.add_parser(
        "doctor", help="check the token, scopes, announce channel, database and playbooks"
    )
    doctor.add_argument(
        "--repair", action="store_true", help="also finish incidents whose Slack set-up failed"
    )

    manifest = sub.add_parser("manifest", help="print the Slack app manifest (YAML)")
    manifest.add_argument("--socket-mode", action="store_true", help="Socket Mode: no public address needed")
    manifest.add_argument(
        "--url",
        help="HTTP mode: the public https:// address of `hashi serve`, e.g. https://hashi.example.com",
    )
    return parser


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Runs the scripted incident and keeps its database where --db (or the user's data folder) says."""
    from bot.demo import default_database, run_demo

    database = (args.db or default_database()).expanduser().resolve()
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot keep the demo's database at {database} ({exc.strerror}): give --db a writable path"
        ) from exc
    return asyncio.run(
        run_demo(
            write=write_stdout,
            lang=args.lang,
            database=database,
            fresh=args.fresh,
            timezone=settings.env.timezone,
            web=args.web,
        )
    )


def run(argv: Sequence[str] | None = None) -> int:
    """Runs one `hashi` command and returns its exit status."""
    args = build_parser().parse_args(argv)
    from storage.db import DatabaseURLError

    try:
        settings = load_settings()
        if args.command == "db":
            return asyncio.run(cmd_db_upgrade(settings))
        if args.command == "export":
            return asyncio.run(cmd_export(settings, args))
        if args.command == "stats":
            return asyncio.run(cmd_stats(settings, args))
        if args.command == "serve":
            return asyncio.run(cmd_serve(settings, args))
        if args.command == "followups":
            return asyncio.run(cmd_followups(settings, args))
        if args.command == "doctor":
            return asyncio.run(cmd_doctor(settings, args))
        if args.command == "manifest":
            return cmd_manifest(settings, args)
        if args.command == "playbooks":
            return cmd_playbooks_check(settings, args)
        if args.command == "demo":
            return cmd_demo(settings, args)
        raise UsageError(f"unknown command {args.command}")
    except (UsageError, ConfigError, DatabaseURLError, IncidentError) as exc:
        message = exc.message if isinstance(exc, IncidentError) else str(exc)
        print(f"hashi: {message}", file=sys.stderr)
        return EXIT_USAGE
    except Unavailable as exc:
        print(f"hashi: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the one edge that turns any failure into a one-line reason
        print(f"hashi: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point (`argv`: the arguments, else the command line's)."""
    sys.exit(run(argv))
