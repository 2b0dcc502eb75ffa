"""The `hashi` command: parses the command line and runs one command (`hashi serve` builds Hashi in
bot/runtime.py, the one composition root)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from bot.incidents.errors import ChatError, IncidentError
from bot.incidents.times import TimeParseError
from bot.incidents.windows import PERIODS
from bot.logs import JsonLogFormatter, TextLogFormatter, quiet_libraries
from bot.settings import ConfigError, Settings, load_settings

# The Slack and database stacks load only for commands that need them, so `hashi --help` starts fast.
if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.doctor import Check
    from bot.incidents.service import IncidentService
    from bot.slack.inbox import SlackInbox
    from storage.repository import Store

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
MAX_INCIDENT_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


class UsageError(Exception):
    """Bad usage or input: exit status 2."""


class Unavailable(Exception):
    """Something Hashi needs does not answer (the database): exit status 1, saying what to check."""


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


def parse_incident_id(text: str) -> int:
    """`12`, `INC-12` or `#12` → 12."""
    from bot.slack.parse import id_number

    cleaned = text.strip().lstrip("#")
    if cleaned.lower().startswith("inc-"):
        cleaned = cleaned[4:]
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise UsageError(f"{text!r} is not an incident id (use 12, INC-12 or #12)")
    number = id_number(cleaned)
    if number is None or number > MAX_INCIDENT_ID:
        raise UsageError(f"there is no incident {text} (ids go up to {MAX_INCIDENT_ID})")
    return number


async def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Runs the bot: Socket Mode when SLACK_APP_TOKEN is set (and --http is not), else HTTP."""
    from bot.runtime import add_web_dashboard, build_runtime
    from bot.slack.app import build_web, run_http, run_socket_mode

    problems = [settings.env.bot_token_problem(), settings.env.mode_problem(http=args.http)]
    if any(problems):  # all at once, so one look at the README's "Connecting to Slack" fixes them
        raise UsageError("; and ".join(p for p in problems if p))
    configure_logging(args.log_format)
    settings.refuse_missing_secrets()
    socket_mode = bool(settings.env.slack_app_token) and not args.http
    port = args.port or settings.env.port
    replica = f"{socket.gethostname()}:{'socket' if socket_mode else port}"
    runtime = await build_runtime(settings, replica=replica)
    started = runtime.clock.now()
    web_app = build_web(
        app=runtime.app,
        store=runtime.store,
        signing_secret=settings.env.slack_signing_secret,
        turns=runtime.turns,
        github=runtime.github_webhook,
        alerts=runtime.alerts,
    )
    add_web_dashboard(runtime, web_app)
    log = logging.getLogger("hashi")
    try:
        await runtime.gateway.bot_user_id()  # learn who we are once, before the first declaration needs it
    except ChatError as exc:
        from bot.doctor import auth_failure

        log.warning("at start: %s", auth_failure(exc, api_url=settings.env.slack_api_url))
    # What this replica recorded and had not finished when it last stopped (a crash, a kill) runs first,
    # in the order it came, before new requests are taken.
    resumed = await runtime.inbox.resume(mine_since=started)
    if resumed:
        log.info("resumed %s recorded deliveries", resumed)
    work: asyncio.Future[Any]
    if socket_mode:
        assert settings.env.slack_app_token is not None
        work = asyncio.gather(
            run_socket_mode(runtime.app, app_token=settings.env.slack_app_token),
            run_http(web_app, host=settings.env.host, port=port),  # /healthz and /metrics
        )
    else:
        work = asyncio.ensure_future(run_http(web_app, host=settings.env.host, port=port))
    settle_heap()
    repairs = asyncio.ensure_future(
        repair_loop(runtime.service, lease=settings.team.setup_lease_seconds, started=started)
    )
    inbox = asyncio.ensure_future(inbox_loop(runtime.inbox, lease=settings.team.delivery_lease_seconds))
    loop = asyncio.get_running_loop()
    for stop in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop, work.cancel)
    try:
        await work
    except asyncio.CancelledError:
        log.info("stopping: no new requests; finishing the work in hand")
    finally:
        inbox.cancel()
        # New requests are no longer taken (the server is closed); what is in hand finishes, or goes back to
        # the inbox for another replica, or this one's next start, to resume.
        handed_back = await runtime.inbox.drain(within=STOP_GRACE)
        if handed_back:
            log.warning("handed %s unfinished deliveries back to the inbox", handed_back)
        repairs.cancel()
        await runtime.close()
    return EXIT_OK


STOP_GRACE = 10.0  # seconds a stop waits for work in hand before handing the rest back
PRUNE_AFTER = timedelta(days=1)  # deliveries done longer ago are forgotten (Slack retries within minutes)


async def inbox_loop(inbox: SlackInbox, *, lease: int) -> None:
    """Every so often, resumes deliveries whose replica stopped without finishing them (their claim ran
    out), and forgets deliveries done long ago."""
    log = logging.getLogger("hashi.inbox")
    interval = min(10.0, max(1.0, lease / 4))
    passes = 0
    while True:
        await asyncio.sleep(interval)
        try:
            resumed = await inbox.resume()
            if resumed:
                log.info("resumed %s deliveries another replica left unfinished", resumed)
            passes += 1
            if passes % 360 == 1:
                await inbox.deliveries.prune(older_than=PRUNE_AFTER)
        except Exception:  # a failed pass (database restarting) is tried again next time
            log.exception("inbox pass failed")


# CPython collects its youngest generation of container objects every 700 allocations. Under a burst of
# requests thousands of objects are alive at any moment (each request's work waiting for the answers to go
# out), so every collection moved them on, and a full collection over all of them stalled the event loop for
# 40-55 ms in the middle of the burst, the tail of the ack latency (bench/ack_latency.py: 1,800 collections
# and 14 full ones per run at 700; 90 and none at 10,000).
YOUNG_GENERATION = 10_000


def settle_heap() -> None:
    """Once start-up is done: what it built (modules, catalogues, settings) lives as long as the process and
    leaves the collector's view, and the young generation may grow to YOUNG_GENERATION before a collection."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)


async def repair_loop(service: IncidentService, *, lease: int, started: datetime | None = None) -> None:
    """At start and then every so often, finishes Slack set-ups a crash or a Slack fault left incomplete
    (at start also this replica's own that a crash interrupted before `started`, without waiting for their
    lease to run out)."""
    from bot.incidents.service import SETUP_IN_PROGRESS

    log = logging.getLogger("hashi.repair")
    interval = min(30.0, max(1.0, lease / 2))
    while True:
        try:
            for setup in await service.repair_rooms(mine_since=started):
                if setup.missing and SETUP_IN_PROGRESS not in setup.missing:
                    log.warning("INC-%s still lacks %s", setup.incident.id, ", ".join(setup.missing))
                elif not setup.missing:
                    log.info("INC-%s set up", setup.incident.id)
            await service.refresh_due_reminders()
            await service.followups.file_pending_tickets()  # tickets a tracker outage left unfiled
            await service.status_pages.send_pending()  # status page updates Statuspage did not take yet
            await service.effects.show_pending()  # what a crash or a Slack failure left unshown
            await service.follow_private_rooms()  # who left a private room while no replica listened
            await service.send_due_pages()  # pages PagerDuty did not take yet (down, 429), or a crash left
        except Exception:  # a failed pass (database restarting, Slack down) is tried again next time
            log.exception("repair pass failed")
        await asyncio.sleep(interval)


def configure_logging(fmt: str) -> None:
    """Plain or JSON log lines on stderr."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(TextLogFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    quiet_libraries()


async def _with_store(
    settings: Settings, work: Callable[[Store], Awaitable[int]], *, create: bool = False
) -> int:
    """Runs `work` on the configured database; only `create` (`hashi db upgrade`) may make a new SQLite file,
    since for the others an empty one left behind would only hide the mistake."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from bot.doctor import missing_database
    from storage.db import make_engine
    from storage.repository import Store

    absent = None if create else missing_database(settings.env.database_url)
    if absent is not None:
        raise UsageError(absent)
    engine = make_engine(settings.env.database_url)
    settle_heap()
    try:
        return await work(Store(engine))
    except OSError as exc:  # refused, unknown host, timed out: the server, not the schema
        shown = make_url(settings.env.database_url).render_as_string(hide_password=True)
        raise Unavailable(
            f"cannot reach the database at {shown} ({type(exc).__name__}: {exc}): is the server running and "
            "reachable from here? HASHI_DATABASE_URL names it"
        ) from exc
    except DBAPIError:
        await _require_current_schema(engine)
        raise
    finally:
        await engine.dispose()


async def _require_current_schema(engine: AsyncEngine) -> None:
    """After a database error: a UsageError saying how to upgrade when the schema is not this Hashi's (a
    database from an older version, or none yet); returns when it is, or when that cannot be told."""
    from storage.migrate import current_revision, head_revision

    try:
        found = await current_revision(engine)
    except Exception:  # the database does not answer at all: the original error says more
        return
    wanted = head_revision()
    if found != wanted:
        raise UsageError(
            f"the database is at schema revision {found or 'none (empty)'} and this Hashi needs {wanted}: "
            "run `hashi db upgrade` first (`hashi serve` upgrades at start)"
        )


async def cmd_db_upgrade(settings: Settings) -> int:
    """Applies migrations."""
    from storage.migrate import current_revision, upgrade

    async def work(store: Store) -> int:
        await upgrade(store.engine)
        print(f"database at revision {await current_revision(store.engine)}")
        return EXIT_OK

    return await _with_store(settings, work, create=True)


async def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Prints or writes the postmortem draft (Markdown or JSON), or refreshes an edited one (--update)."""
    from bot.incidents.ports import SystemClock
    from bot.incidents.queries import load_snapshot
    from bot.incidents.times import known_zone
    from bot.reports.export import export_json
    from bot.reports.postmortem import render_postmortem, update_postmortem
    from bot.runtime import postmortem_template_problem

    incident_id = parse_incident_id(args.incident)
    if args.update is not None and args.format != "md":
        raise UsageError("--update refreshes a Markdown draft; leave out --format json")
    if args.update is not None and args.output is not None:
        raise UsageError("--update rewrites FILE in place; leave out -o")
    tz = known_zone(args.tz or settings.env.timezone)
    if tz is None:
        raise UsageError(
            f"unknown time zone {args.tz or settings.env.timezone!r}: use an IANA name like Asia/Tokyo"
        )

    lang = args.lang or settings.team.workspace_language
    problem = postmortem_template_problem(settings)
    if problem:
        raise UsageError(problem)

    async def work(store: Store) -> int:
        snap = await load_snapshot(store, incident_id=incident_id)
        if args.format == "json":
            text = json.dumps(export_json(snap, lang=lang), ensure_ascii=False, indent=2) + "\n"
        else:
            text = render_postmortem(
                snap,
                tz=tz,
                generated_at=SystemClock().now(),
                lang=lang,
                template=settings.postmortem_template,
                shape=settings.team.record_shape(),
            )
        if args.update is not None:
            try:  # newline="" keeps the author's line endings (CRLF from Windows editors) byte for byte
                with args.update.open(encoding="utf-8", newline="") as draft:
                    existing = draft.read()
            except OSError as exc:
                raise UsageError(f"cannot read {args.update}: {exc.strerror}") from exc
            try:
                text = update_postmortem(existing, text)
            except ValueError as exc:
                raise UsageError(f"{args.update}: {exc}") from exc
            with args.update.open("w", encoding="utf-8", newline="") as draft:
                draft.write(text)
            print(f"updated {args.update}", file=sys.stderr)
        elif args.output is not None:
            args.output.write_text(text, encoding="utf-8")
        else:
            write_stdout(text)
        return EXIT_OK

    return await _with_store(settings, work)


def write_stdout(text: str) -> None:
    """Writes UTF-8 whatever the terminal's encoding (Japanese text on a cp1252 console included)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def stats_grouping(by: str | None, settings: Settings) -> str | None:
    """`--by` as compute_stats takes it: severity, service, type, or `field:<name>` of a select field."""
    from bot.incidents.fields import FieldKind

    if by is None or by in ("severity", "service", "type"):
        return by
    name = by.removeprefix("field:") if by.startswith("field:") else None
    selects = [n for n, f in settings.team.fields.items() if f.kind is FieldKind.SELECT]
    if name is not None:
        chosen = next((n for n in selects if n.casefold() == name.casefold()), None)
        if chosen is not None:
            return f"field:{chosen}"
        if name in settings.team.fields:
            raise UsageError(f"--by field:{name}: only a select field groups stats (its kind is not select)")
    known = ", ".join(["severity", "service", "type", *(f"field:{n}" for n in selects)])
    raise UsageError(f"--by {by!r}: group by one of {known}")


async def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    """Prints recovery-time metrics over a window, or their trend per period (--every)."""
    from bot.incidents.ports import SystemClock
    from bot.incidents.queries import first_start, stats_rows
    from bot.incidents.times import known_zone
    from bot.incidents.windows import parse_window
    from bot.reports.metrics import compute_stats, stats_csv, stats_json, stats_table
    from bot.reports.trends import compute_trend, trend_csv, trend_json, trend_table

    if args.every is not None and args.by is not None:
        raise UsageError("--every shows all incidents per period; leave out --by")
    by = stats_grouping(args.by, settings)
    tz = known_zone(settings.env.timezone)
    if tz is None:
        raise UsageError(f"unknown time zone {settings.env.timezone!r}: use an IANA name like Asia/Tokyo")
    now = SystemClock().now()
    lang = args.lang or settings.team.workspace_language
    try:
        window = parse_window(args.since, args.until, now=now, tz=tz)
    except TimeParseError as exc:
        raise UsageError(f"--since/--until: {exc}") from exc

    async def work(store: Store) -> int:
        first = await first_start(store) if window.from_first else None
        try:
            since, until = window.bounds(now=now, first=first)
        except TimeParseError as exc:
            raise UsageError(f"--since/--until: {exc}") from exc
        rows = await stats_rows(store, since=since, until=until)
        slos = settings.team.slos()
        if args.every is not None:
            trend = compute_trend(rows, since=since, until=until, every=args.every, tz=tz, slos=slos, now=now)
            if args.format == "json":
                write_stdout(json.dumps(trend_json(trend), ensure_ascii=False, indent=2) + "\n")
            elif args.format == "csv":
                write_stdout(trend_csv(trend))
            else:
                write_stdout(trend_table(trend, tz, lang))
            return EXIT_OK
        report = compute_stats(rows, since=since, until=until, by=by, slos=slos, now=now)
        if args.format == "json":
            write_stdout(json.dumps(stats_json(report), ensure_ascii=False, indent=2) + "\n")
        elif args.format == "csv":
            write_stdout(stats_csv(report))
        else:
            write_stdout(stats_table(report, lang))
        return EXIT_OK

    return await _with_store(settings, work)


async def cmd_followups(settings: Settings, args: argparse.Namespace) -> int:
    """`hashi followups list` prints follow-ups across incidents; `hashi followups sync` brings them in line
    with their tickets (files what is unfiled, marks done what is closed)."""
    from bot.incidents.ports import SystemClock
    from bot.incidents.queries import followup_rows
    from bot.reports.followups import followups_json, followups_table

    if args.followups_command == "sync":
        return await _sync_followups(settings)
    now = SystemClock().now()

    async def work(store: Store) -> int:
        rows = await followup_rows(store, open_only=args.open)
        if args.format == "json":
            write_stdout(json.dumps(followups_json(rows, now=now), ensure_ascii=False, indent=2) + "\n")
        else:
            write_stdout(followups_table(rows, now=now, lang=args.lang or settings.team.workspace_language))
        return EXIT_OK

    return await _with_store(settings, work)


async def _sync_followups(settings: Settings) -> int:
    from bot.incidents.outside import OutsideError
    from bot.runtime import build_runtime

    if settings.team.integrations.followups is None:
        raise UsageError('no tracker is configured: set `[integrations] followups = "github"` or "jira"')
    settings.refuse_missing_secrets()
    runtime = await build_runtime(settings, migrate=False)
    try:
        followups = runtime.service.followups
        try:
            filed = await followups.file_pending_tickets()
            checked, done = await followups.sync_tickets()
        except OutsideError as exc:
            print(f"hashi: {exc}", file=sys.stderr)
            return EXIT_ERROR
    finally:
        await runtime.close()
    print(f"{filed} ticket(s) filed; {checked} open ticket(s) checked; {done} follow-up(s) marked done")
    return EXIT_OK


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


def main() -> NoReturn:
    """Console-script entry point."""
    sys.exit(run())
