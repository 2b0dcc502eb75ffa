"""The commands over the stored record: `hashi db upgrade`, `export`, `stats`, `followups sync`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_ERROR, EXIT_OK, UsageError, parse_incident_id, with_store, write_stdout
from bot.incidents.times import TimeParseError
from bot.settings import Settings

# The Slack and database stacks load only for commands that need them, so `hashi --help` starts fast.
if TYPE_CHECKING:
    from storage.repository import Store


async def cmd_db_upgrade(settings: Settings) -> int:
    """Applies migrations."""
    from storage.migrate import current_revision, upgrade

    async def work(store: Store) -> int:
        await upgrade(store.engine)
        print(f"database at revision {await current_revision(store.engine)}")
        return EXIT_OK

    return await with_store(settings, work, create=True)


async def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Prints or writes the postmortem draft (Markdown or JSON), or refreshes an edited one (--update)."""
    from bot.incidents.ports import SystemClock
    from bot.incidents.queries import load_snapshot
    from bot.incidents.times import known_zone
    from bot.reports.export import export_json
    from bot.reports.postmortem import render_postmortem
    from bot.reports.postmortem_markers import update_postmortem
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

    return await with_store(settings, work)


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
    from bot.reports.stats import compute_stats
    from bot.reports.stats_formats import stats_csv, stats_json, stats_table
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

    return await with_store(settings, work)


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

    return await with_store(settings, work)


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
