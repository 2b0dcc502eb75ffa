"""Storage at scale: `hashi stats` over 100,000 incidents, export of a 10,000-event incident, insert rates.

    .venv/bin/python bench/storage_scale.py [--db sqlite|postgres|both]
                                            [--incidents 100000] [--events 1000000] [--stats-only]

Bulk-loads incidents with realistic milestones, severities and services (about 10% private) and timeline
events (SQLAlchemy core `insert()` executemany, one transaction per chunk, into a database migrated by
storage.migrate.upgrade through storage.db.make_engine), then times what issue 7 asks for:
- stats: stats_rows + compute_stats (+ stats_json) over 30 and 365 days, and the real CLI
  `python -m bot stats --since 365d --format json` as a subprocess (end to end, interpreter start included);
- export of the largest incident (10,000 events): load_snapshot + render_postmortem + export_json, and the
  CLI `python -m bot export <id>`;
- timeline inserts through IncidentService.add_note (the real write path with a Chat that does nothing,
  sequential and concurrent) and through bulk insert.
Targets (issue 7): stats and export each under one second.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from _common import (
    REPO_ROOT,
    database_version,
    gather_limited,
    ms,
    percentile,
    postgres_reachable,
    print_machine,
    print_table,
    profile_summary,
    scratch_database,
    stopwatch,
    verdict,
)
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.incidents.ports import Room, SystemClock
from bot.incidents.queries import load_snapshot, stats_rows
from bot.incidents.service import IncidentService
from bot.reports.export import export_json
from bot.reports.postmortem import render_postmortem
from bot.reports.stats import compute_stats
from bot.reports.stats_formats import stats_json
from bot.settings import EnvSettings, Settings, TeamConfig
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import ChecklistItem, Followup, Incident, Participant, RoleAssignment, TimelineEvent
from storage.repository import Store
from storage.stats import refresh_incident_stats

TARGET_SECONDS = 1.0
SEVERITIES = (("SEV1", 0.05), ("SEV2", 0.15), ("SEV3", 0.40), ("SEV4", 0.40))
SERVICES = (
    "api",
    "auth",
    "billing",
    "checkout",
    "search",
    "payments",
    "db-primary",
    "db-replica",
    "cache",
    "cdn",
    "dns",
    "email",
    "notifications",
    "mobile-api",
    "web",
    "queue",
    "storage",
    "analytics",
    "ml-ranking",
    "identity",
    "ledger",
    "inventory",
    "shipping",
    "support-tools",
)
# Services with an SLO in the team's hashi.toml (stats then computes availability and error budget).
SLOS = {"api": 99.9, "checkout": 99.95, "payments": 99.99, "search": 99.5, "auth": 99.9}
SYMPTOMS = (
    "elevated 5xx",
    "latency above SLO",
    "partial outage",
    "errors after deploy",
    "queue backlog",
    "replication lag",
    "certificate expiry",
    "timeouts from upstream",
    "login failures",
    "stale reads",
)
WORDS = (
    "rolled back deploy restarted pods paged on-call error rate dropped customers report failures "
    "dashboard shows spike in p99 latency for the checkout API; investigating the connection pool "
    "saturation on db-primary, failover considered, cache hit ratio fell, mitigation applied, monitoring "
    "traffic shifted to the other region and the queue is draining slowly `kubectl rollout undo` *bold* "
    "<https://status.example.com|status page> # not a heading | pipe | 障害 復旧 監視中"
).split()
USERS = tuple(f"U0BENCH{n:03d}" for n in range(60))
CHUNK = 20_000
BIG_EVENTS = 10_000


# A Chat that does nothing: add_note's Slack effects cost no network time here.


class NullChat:
    """The Chat port with every effect a no-op (ids made up), so the write path is all database."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def _ts(self) -> str:
        return f"1700000000.{next(self._ids):06d}"

    async def create_room(self, *, name: str, **_: Any) -> Room:
        return Room(channel_id=f"CNULL{next(self._ids):08d}", name=name)

    async def post_card(self, **_: Any) -> str:
        return self._ts()

    async def announce(self, **_: Any) -> str:
        return self._ts()

    async def post_checklist(self, **_: Any) -> str:
        return self._ts()

    async def schedule_reminder(self, **_: Any) -> str:
        return f"QNULL{next(self._ids):08d}"

    async def _nothing(self, **_: Any) -> None:
        return None

    invite = set_topic = pin = update_card = post_changes = update_checklist = cancel_reminder = _nothing


# Synthetic data


def _sentence(rng: random.Random, low: int = 6, high: int = 18) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _lognormal_minutes(rng: random.Random, median: float, sigma: float = 1.0) -> timedelta:
    return timedelta(minutes=median * math.exp(rng.gauss(0, sigma)))


def incident_rows(
    rng: random.Random, *, count: int, now: datetime, days: int, big_id: int
) -> Iterator[dict[str, Any]]:
    """Incident rows with ids 1…count, declared over the last `days` days (id order = time order)."""
    codes = [c for c, _ in SEVERITIES]
    weights = [w for _, w in SEVERITIES]
    offsets = sorted((rng.random() * days for _ in range(count)), reverse=True)
    for incident_id, age_days in enumerate(offsets, start=1):
        declared = now - timedelta(days=age_days)
        if incident_id == big_id:
            declared = now - timedelta(days=3)
        severity = rng.choices(codes, weights)[0]
        roll = rng.random()
        services = [] if roll < 0.05 else rng.sample(SERVICES, 1 if roll < 0.75 else 2)
        detected = declared - _lognormal_minutes(rng, 6) if rng.random() < 0.8 else None
        impact_start = None
        if rng.random() < 0.6:
            impact_start = min(detected or declared, declared) - _lognormal_minutes(rng, 10)
        acknowledged = declared + _lognormal_minutes(rng, 3) if rng.random() < 0.92 else None
        # A few recent ones are still open; a handful of old ones were forgotten open (flagged in stats).
        still_open = (age_days < 2 and rng.random() < 0.5) or rng.random() < 0.003
        mitigated = resolved = closed = impact_end = None
        status = rng.choice(("investigating", "identified", "monitoring"))
        if not still_open or status == "monitoring":
            mitigated = declared + _lognormal_minutes(rng, 40)
        if not still_open:
            resolved = mitigated + _lognormal_minutes(rng, 25) if mitigated else None
            status = "resolved"
            if rng.random() < 0.5 and mitigated and resolved:
                impact_end = mitigated + (resolved - mitigated) * rng.random()
            if rng.random() < 0.7 and resolved:
                closed = resolved + timedelta(days=rng.uniform(1, 14))
                status = "closed" if closed < now else "resolved"
                closed = closed if closed < now else None
        milestones = [declared, detected, impact_start, acknowledged, mitigated, resolved, closed, impact_end]
        title = f"{(services or ['platform'])[0]}: {rng.choice(SYMPTOMS)}"
        yield {
            "id": incident_id,
            "title": title,
            "summary": _sentence(rng) if rng.random() < 0.5 else "",
            "severity": severity,
            "status": status,
            "private": rng.random() < 0.10,
            "services": services,
            "lead": rng.choice(USERS) if rng.random() < 0.85 else None,
            "declared_by": rng.choice(USERS),
            "team_id": "T0HASHI",
            "request_key": f"bench:{incident_id}",
            "channel_id": f"CB{incident_id:09d}",
            "channel_name": f"inc-{incident_id}-bench",
            "card_ts": f"{int(declared.timestamp())}.000100",
            "card_pinned": True,
            "checklist_ts": None,
            "topic_set": True,
            "announce_ts": None,
            "setup_error": "",
            "setup_claimed_at": None,
            "impact_started_at": impact_start,
            "detected_at": detected,
            "declared_at": declared,
            "acknowledged_at": acknowledged,
            "mitigated_at": mitigated,
            "resolved_at": resolved,
            "closed_at": closed,
            "impact_ended_at": impact_end,
            "updated_at": max(m for m in milestones if m is not None),
        }


def _event(
    incident_id: int, at: datetime, kind: str, actor: str | None, text: str, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "at": at,
        "recorded_at": at,
        "kind": kind,
        "actor": actor,
        "text": text,
        "source_ref": None,
        "permalink": None,
        "deleted": False,
        "data": data,
    }


def lifecycle_events(rng: random.Random, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The events the milestones imply: declared (with its severity), severity changes, ack, status…"""
    i, declared, actor = row["id"], row["declared_at"], row["declared_by"]
    first = row["severity"]
    events = []
    if rng.random() < 0.2:  # declared at a neighbouring severity, changed later
        codes = [c for c, _ in SEVERITIES]
        first = codes[min(len(codes) - 1, codes.index(row["severity"]) + 1)]
    events.append(
        _event(i, declared, "declared", actor, f"Declared {first}: {row['title']}", {"severity": first})
    )
    if first != row["severity"]:
        at = declared + _lognormal_minutes(rng, 8)
        text_ = f"Severity {first} → {row['severity']}"
        events.append(_event(i, at, "severity", actor, text_, {"from": first, "to": row["severity"]}))
    if row["detected_at"]:
        events.append(
            _event(i, row["detected_at"], "milestone", actor, "Detected", {"milestone": "detected_at"})
        )
    if row["acknowledged_at"]:
        events.append(_event(i, row["acknowledged_at"], "acknowledged", row["lead"], "Acknowledged", {}))
    if row["mitigated_at"]:
        events.append(
            _event(
                i,
                row["mitigated_at"],
                "status",
                actor,
                "Status identified → monitoring",
                {"to": "monitoring"},
            )
        )
    if row["resolved_at"]:
        events.append(_event(i, row["resolved_at"], "resolved", actor, "Resolved", {}))
    if row["closed_at"]:
        events.append(_event(i, row["closed_at"], "closed", actor, "Closed", {}))
    return events


def filler_events(
    rng: random.Random, row: dict[str, Any], count: int, *, now: datetime
) -> Iterator[dict[str, Any]]:
    """Notes and Slack messages pinned to the timeline, spread over the incident's life."""
    start = row["impact_started_at"] or row["detected_at"] or row["declared_at"]
    end = row["resolved_at"] or min(now, row["declared_at"] + timedelta(hours=6))
    span = max((end - start).total_seconds(), 60.0)
    for n in range(count):
        at = start + timedelta(seconds=rng.random() * span)
        actor = rng.choice(USERS)
        if rng.random() < 0.3:
            event = _event(row["id"], at, "slack_message", actor, _sentence(rng, 4, 30), {})
            event["source_ref"] = f"{int(at.timestamp())}.{n:06d}"
            event["permalink"] = f"https://example.slack.com/archives/{row['channel_id']}/p{n:016d}"
        else:
            event = _event(row["id"], at, "note", actor, _sentence(rng), {})
        event["recorded_at"] = at + timedelta(seconds=rng.uniform(0, 30))
        yield event


def event_budget(rng: random.Random, incidents: int, events: int, big_id: int) -> list[int]:
    """How many events each incident gets (index 0 unused): skewed, the big one gets 10,000."""
    big = min(BIG_EVENTS, events // 2)
    weights = [rng.lognormvariate(0, 0.9) for _ in range(incidents)]
    total = sum(weights)
    rest = events - big
    counts = [0] + [max(1, int(w / total * rest)) for w in weights]
    counts[big_id] = big
    others = [i for i in range(1, incidents + 1) if i != big_id]
    rng.shuffle(others)
    for k in range(max(0, events - sum(counts))):  # spread what flooring left over
        counts[others[k % len(others)]] += 1
    return counts


# Loading


async def bulk_insert(engine: AsyncEngine, table: Any, rows: Iterator[dict[str, Any]]) -> tuple[int, float]:
    """Inserts rows with executemany in chunks, one transaction each; returns (rows, seconds in inserts)."""
    inserted, spent = 0, 0.0
    while True:
        chunk = list(itertools.islice(rows, CHUNK))
        if not chunk:
            return inserted, spent
        with stopwatch() as elapsed:
            async with engine.begin() as conn:
                await conn.execute(insert(table), chunk)
        spent += elapsed()
        inserted += len(chunk)


async def load(
    engine: AsyncEngine, *, incidents: int, events: int, now: datetime, days: int
) -> dict[str, Any]:
    """Loads the synthetic organisation; returns counts and timings."""
    rng = random.Random(7)
    big_id = incidents  # the most recent id, declared three days ago (so inside both windows)
    rows = list(incident_rows(rng, count=incidents, now=now, days=days, big_id=big_id))
    with stopwatch() as elapsed:
        n_incidents, incident_seconds = await bulk_insert(engine, Incident.__table__, iter(rows))
    incident_wall = elapsed()
    budget = event_budget(rng, incidents, events, big_id)
    by_id = {row["id"]: row for row in rows}

    def all_events() -> Iterator[dict[str, Any]]:
        produced = 0
        for row in rows:
            lifecycle = lifecycle_events(rng, row)
            want = budget[row["id"]]
            if row["id"] == big_id:
                want -= len(lifecycle)
                lifecycle_kept = lifecycle
            else:
                lifecycle_kept = lifecycle[: max(1, want)]
                want -= len(lifecycle_kept)
            want = min(want, events - produced - len(lifecycle_kept))
            yield from lifecycle_kept
            produced += len(lifecycle_kept)
            if want > 0:
                yield from filler_events(rng, row, want, now=now)
                produced += want

    with stopwatch() as elapsed:
        n_events, event_seconds = await bulk_insert(engine, TimelineEvent.__table__, all_events())
    event_wall = elapsed()
    await _decorate_big(engine, rng, by_id[big_id], now=now)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("incident", "timeline_event"):
                await conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
                )
    # Bulk inserts go around the ORM that keeps incident_stats; the rebuild is what migration 0011 runs.
    with stopwatch() as elapsed:
        async with engine.begin() as conn:
            await conn.run_sync(refresh_incident_stats, None)
    stats_rebuild = elapsed()
    with stopwatch() as elapsed:
        if engine.dialect.name == "postgresql":  # what autovacuum would soon do after a bulk load
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
    return {
        "big_id": big_id,
        "incidents": n_incidents,
        "incident_insert_seconds": incident_seconds,
        "incident_wall": incident_wall,
        "events": n_events,
        "event_insert_seconds": event_seconds,
        "event_wall": event_wall,
        "analyze_seconds": elapsed(),
        "stats_rebuild_seconds": stats_rebuild,
    }


async def _decorate_big(
    engine: AsyncEngine, rng: random.Random, row: dict[str, Any], *, now: datetime
) -> None:
    """Roles, participants, checklists and follow-ups on the largest incident, so every section renders."""
    i = row["id"]
    roles = [
        {"incident_id": i, "role": role, "user_id": USERS[n], "assigned_at": row["declared_at"]}
        for n, role in enumerate(("lead", "comms", "scribe", "ops"))
    ]
    people = [{"incident_id": i, "user_id": u, "joined_at": row["declared_at"]} for u in USERS[:40]]
    items = [
        {
            "incident_id": i,
            "playbook": "major-incident",
            "key": f"step-{n}",
            "position": n,
            "title": _sentence(rng, 3, 8),
            "details": _sentence(rng),
            "owner_role": "lead",
            "required": n < 3,
            "due_at": row["declared_at"] + timedelta(minutes=10 * n),
            "done": n % 3 != 0,
            "done_by": USERS[n] if n % 3 != 0 else None,
            "done_at": row["declared_at"] + timedelta(minutes=7 * n) if n % 3 != 0 else None,
        }
        for n in range(25)
    ]
    followups = [
        {
            "incident_id": i,
            "text": _sentence(rng, 5, 12),
            "owner": USERS[n],
            "done": False,
            "created_by": USERS[0],
            "created_at": min(now, row["declared_at"] + timedelta(hours=n)),
        }
        for n in range(12)
    ]
    async with engine.begin() as conn:
        for table, values in (
            (RoleAssignment.__table__, roles),
            (Participant.__table__, people),
            (ChecklistItem.__table__, items),
            (Followup.__table__, followups),
        ):
            await conn.execute(insert(table), values)


# Measuring


async def timed(work: Callable[[], Awaitable[Any]], repeat: int) -> tuple[list[float], Any]:
    """Runs `work` `repeat` times; returns the durations and the last result."""
    times, result = [], None
    for _ in range(repeat):
        with stopwatch() as elapsed:
            result = await work()
        times.append(elapsed())
    return times, result


def run_cli(args: Sequence[str], *, env: dict[str, str], repeat: int) -> tuple[list[float], int]:
    """Times `python -m bot …` as a subprocess; returns durations and the size of its output."""
    times, size = [], 0
    for _ in range(repeat):
        with stopwatch() as elapsed:
            done = subprocess.run(
                [sys.executable, "-m", "bot", *args], env=env, cwd=REPO_ROOT, capture_output=True, check=False
            )
        if done.returncode != 0:
            raise RuntimeError(f"hashi {' '.join(args)} failed: {done.stderr.decode()[-1000:]}")
        times.append(elapsed())
        size = len(done.stdout)
    return times, size


def import_profile(env: dict[str, str], *, floor_ms: float = 20.0, depth: int = 3) -> str:
    """What `hashi stats` spends its start-up importing (python -X importtime): the imports of at least
    `floor_ms` cumulative within `depth` levels, in importtime's order (children above their parent)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "stats", "--since", "1d", "--format", "json"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    lines = []
    for line in done.stderr.decode().splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if not cumulative.strip().isdigit():
            continue
        level = (len(name) - len(name.lstrip()) - 1) // 2
        if level < depth and int(cumulative) >= floor_ms * 1000:
            lines.append(f"  {int(cumulative) / 1000:7.1f} ms  {'  ' * level}{name.strip()}")
    return "\n".join(lines)


def _profile_summary(profile: cProfile.Profile) -> str:
    return profile_summary(profile)


async def measure(url: str, kind: str, args: argparse.Namespace, report: list[list[object]]) -> None:
    """Loads one database and measures it; appends result rows to `report`."""
    now = SystemClock().now()
    engine = make_engine(url)
    try:
        with stopwatch() as elapsed:
            await upgrade(engine)
        print(
            f"[{kind}] migrated in {elapsed():.2f} s; "
            f"loading {args.incidents:,} incidents, {args.events:,} events…"
        )
        sys.stdout.flush()
        loaded = await load(engine, incidents=args.incidents, events=args.events, now=now, days=args.days)
        rate = loaded["events"] / loaded["event_insert_seconds"]
        print(
            f"[{kind}] loaded {loaded['incidents']:,} incidents in {loaded['incident_wall']:.1f} s, "
            f"{loaded['events']:,} events in {loaded['event_wall']:.1f} s "
            f"({loaded['event_insert_seconds']:.1f} s inside INSERTs: {rate:,.0f} events/s)"
            + (f"; ANALYZE {loaded['analyze_seconds']:.1f} s" if kind == "postgres" else "")
            + f"; incident_stats rebuilt in {loaded['stats_rebuild_seconds']:.1f} s"
        )
        sys.stdout.flush()
        store = Store(engine)
        slos = {name: slo / 100 for name, slo in SLOS.items()}

        # stats in process
        for days, by in ((30, None), (365, None), (365, "service")):
            since = now - timedelta(days=days)
            phases: dict[str, list[float]] = {"rows": [], "compute": [], "json": []}
            count = 0
            for _ in range(args.repeat):
                with stopwatch() as t:
                    rows = await stats_rows(store, since=since, until=now)
                phases["rows"].append(t())
                with stopwatch() as t:
                    stats = compute_stats(rows, since=since, until=now, by=by, slos=slos, now=now)
                phases["compute"].append(t())
                with stopwatch() as t:
                    json.dumps(stats_json(stats), ensure_ascii=False, indent=2)
                phases["json"].append(t())
                count = stats.count
            totals = [sum(p) for p in zip(*phases.values(), strict=True)]
            best = statistics.median(totals)
            detail = ", ".join(f"{k} {ms(statistics.median(v))}" for k, v in phases.items())
            what = f"stats {days}d" + (f" --by {by}" if by else "") + f" in process ({count:,} incidents)"
            report.append([kind, what, ms(best), detail, verdict(best < TARGET_SECONDS)])

        if args.profile:
            since = now - timedelta(days=365)
            profile = cProfile.Profile()
            profile.enable()
            rows = await stats_rows(store, since=since, until=now)
            compute_stats(rows, since=since, until=now, by=None, slos=slos, now=now)
            profile.disable()
            print(f"[{kind}] cProfile of stats over 365 days (stats_rows + compute_stats):")
            print(_profile_summary(profile))
            print()

        env = _cli_env(url, args.folder)
        floor, _ = run_cli(["manifest", "--socket-mode"], env=env, repeat=args.repeat)
        if args.profile and kind == "sqlite":
            print("[cli] slowest imports of `python -X importtime -m bot stats` (cumulative, top level):")
            print(import_profile(env))
            print()
        report.append(
            [
                kind,
                "CLI start-up floor: python -m bot manifest --socket-mode",
                ms(statistics.median(floor)),
                "",
                "",
            ]
        )
        times, size = run_cli(["stats", "--since", "365d", "--format", "json"], env=env, repeat=args.repeat)
        best = statistics.median(times)
        report.append(
            [
                kind,
                "CLI: python -m bot stats --since 365d --format json",
                ms(best),
                f"{size:,} bytes out",
                verdict(best < TARGET_SECONDS),
            ]
        )
        times, size = run_cli(["stats", "--since", "30d"], env=env, repeat=args.repeat)
        best = statistics.median(times)
        report.append(
            [
                kind,
                "CLI: python -m bot stats --since 30d (table)",
                ms(best),
                f"{size:,} bytes out",
                verdict(best < TARGET_SECONDS),
            ]
        )

        if args.stats_only:
            return

        # export of the largest incident in process
        big = loaded["big_id"]
        tz = ZoneInfo("Asia/Tokyo")
        phases = {"load_snapshot": [], "render_postmortem": [], "export_json": []}
        for _ in range(args.repeat):
            with stopwatch() as t:
                snap = await load_snapshot(store, incident_id=big)
            phases["load_snapshot"].append(t())
            with stopwatch() as t:
                markdown = render_postmortem(snap, tz=tz, generated_at=now)
            phases["render_postmortem"].append(t())
            with stopwatch() as t:
                json.dumps(export_json(snap), ensure_ascii=False, indent=2)
            phases["export_json"].append(t())
        totals = [sum(p) for p in zip(*phases.values(), strict=True)]
        best = statistics.median(totals)
        detail = ", ".join(f"{k} {ms(statistics.median(v))}" for k, v in phases.items())
        report.append(
            [
                kind,
                f"export INC-{big} ({len(snap.timeline):,} events, {len(markdown):,} chars md) in process",
                ms(best),
                detail,
                verdict(best < TARGET_SECONDS),
            ]
        )
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            snap = await load_snapshot(store, incident_id=big)
            render_postmortem(snap, tz=tz, generated_at=now)
            profile.disable()
            print(f"[{kind}] cProfile of the export of INC-{big} (load_snapshot + render_postmortem):")
            print(_profile_summary(profile))
            print()
        for fmt in ("md", "json"):
            times, size = run_cli(["export", str(big), "--format", fmt], env=env, repeat=args.repeat)
            best = statistics.median(times)
            report.append(
                [
                    kind,
                    f"CLI: python -m bot export {big} --format {fmt}",
                    ms(best),
                    f"{size:,} bytes out",
                    verdict(best < TARGET_SECONDS),
                ]
            )

        # insert rates
        report.append(
            [
                kind,
                "bulk insert of timeline events (executemany, 20k/transaction)",
                f"{rate:,.0f} /s",
                f"{loaded['events']:,} rows in {loaded['event_insert_seconds']:.1f} s",
                "",
            ]
        )
        await note_rates(store, kind, args, report, big_id=big)
    finally:
        await engine.dispose()


def _cli_env(url: str, folder: Path) -> dict[str, str]:
    toml = folder / "hashi.toml"
    toml.write_text("".join(f"[services.{name}]\nslo = {slo}\n\n" for name, slo in SLOS.items()))
    env = {**os.environ, "HASHI_DATABASE_URL": url, "HASHI_CONFIG": str(toml), "PYTHONPATH": str(REPO_ROOT)}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    return env


def _service(store: Store) -> IncidentService:
    env = EnvSettings(
        SLACK_BOT_TOKEN="xoxb-bench", HASHI_DATABASE_URL="sqlite://", HASHI_ANNOUNCE_CHANNEL="C0A"
    )
    config = Settings(env=env, team=TeamConfig()).incident_config()  # the shipped playbooks and cadences
    return IncidentService(store=store, chat=NullChat(), clock=SystemClock(), config=config)


async def note_rates(
    store: Store, kind: str, args: argparse.Namespace, report: list[list[object]], *, big_id: int
) -> None:
    """Timeline inserts through IncidentService.add_note: sequential, concurrent, one hot incident, and
    into the 10,000-event incident (add_note re-reads the incident's timeline, so its cost grows with it)."""
    service = _service(store)
    notes, width = args.notes, args.concurrency

    async def fresh(title: str) -> int:
        setup = await service.declare(title=title, actor=USERS[0], severity="SEV2", services=["api"])
        return setup.incident.id

    def note(incident_id: int, n: int) -> Callable[[], Awaitable[bool]]:
        return lambda: service.add_note(
            incident_id=incident_id, text=f"note {n}: {WORDS[n % len(WORDS)]}", actor=USERS[n % 7]
        )

    async def timed_note(work: Callable[[], Awaitable[bool]], into: list[float]) -> None:
        with stopwatch() as t:
            await work()
        into.append(t())

    # A busy organisation: `notes` notes round-robin over `width` fresh incidents (each grows by notes/width).
    for label, limit in (("sequential", 1), (f"{width} concurrent", width)):
        spread = [await fresh(f"Bench {label} {n}") for n in range(width)]
        each: list[float] = []
        works = [
            lambda n=n, ids=spread, into=each: timed_note(note(ids[n % width], n), into) for n in range(notes)
        ]
        with stopwatch() as wall:
            await gather_limited(works, concurrency=limit)
        report.append(
            [
                kind,
                f"add_note × {notes:,}, {label}, over {width} incidents",
                f"{notes / wall():,.0f} /s",
                f"latency p50 {ms(percentile(each, 50))}, p99 {ms(percentile(each, 99))}",
                "",
            ]
        )

    # One hot incident: `hot` notes, `width` at a time, into one fresh incident.
    hot = args.hot_notes
    incident_id = await fresh("Bench hot incident")
    each = []
    works = [lambda n=n, into=each: timed_note(note(incident_id, n), into) for n in range(hot)]
    with stopwatch() as wall:
        await gather_limited(works, concurrency=width)
    tenth = max(1, hot // 10)
    report.append(
        [
            kind,
            f"add_note × {hot:,}, {width} concurrent, one incident",
            f"{hot / wall():,.0f} /s",
            f"first {tenth}: p50 {ms(percentile(each[:tenth], 50))}, "
            f"last {tenth}: p50 {ms(percentile(each[-tenth:], 50))}",
            "",
        ]
    )

    # The 10,000-event incident, sequentially.
    big_notes = 5
    profile = cProfile.Profile() if args.profile else None
    each = []
    for n in range(big_notes):
        if profile:
            profile.enable()
        with stopwatch() as t:
            await note(big_id, n)()
        if profile:
            profile.disable()
        each.append(t())
    report.append(
        [
            kind,
            f"add_note × {big_notes} into INC-{big_id} (10,000+ events), sequential",
            f"{big_notes / sum(each):,.1f} /s",
            f"{ms(statistics.median(each))}/note",
            "",
        ]
    )
    if profile:
        print(f"[{kind}] cProfile of {big_notes} add_note calls into INC-{big_id}:")
        print(_profile_summary(profile))
        print()


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=400, help="declarations spread over this many days")
    parser.add_argument("--notes", type=int, default=2_000, help="add_note calls per insert-rate run")
    parser.add_argument("--hot-notes", type=int, default=500, help="add_note calls into one hot incident")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing (the median is shown)")
    parser.add_argument("--profile", action="store_true", help="cProfile add_note into the big incident")
    parser.add_argument(
        "--stats-only",
        action="store_true",
        help="measure stats (in process and CLI) only: no export, no inserts",
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not await postgres_reachable():
        print("PostgreSQL does not answer at 127.0.0.1:5432; running SQLite only")
        kinds.remove("postgres")
    report: list[list[object]] = []
    versions = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hashi_bench_cfg_") as folder:
        args.folder = Path(folder)
        for kind in kinds:
            async with scratch_database(kind, label="storage") as url:
                versions.append(await database_version(url))
                await measure(url, kind, args, report)
    print()
    print_machine(versions)
    print(
        f"storage at scale: {args.incidents:,} incidents, {args.events:,} timeline events, "
        f"declared over {args.days} days; median of {args.repeat} runs; target: stats and export < 1 s"
    )
    print()
    print_table(["db", "what", "time / rate", "detail", "< 1 s"], report)
    print(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
