"""Hashi's write path as a real process: CPU, Web API calls and latency per declaration and per note, a steady
load of notes, and what a kill -9 or a SIGTERM keeps of the notes it acknowledged.

    .venv/bin/python bench/write_path.py [--latency 0.05] [--declarations 30] [--concurrent 20] [--notes 50]
        [--rate 200] [--seconds 20] [--rooms 4] [--burst 60] [--term-burst 150]
        [--only declare,concurrent,note,load,durability]

Each section gets its own Slack stand-in in this process (Slack's Web API spec, its facts table, every call
answered after `--latency` seconds, the harness's people and channels) and its own `python -m bot serve
--http` subprocess on a new temporary SQLite file, so a section's figures do not depend on which ran before.

- declare: `/incident declare SEV2 …` one at a time, after 3 warm-up ones. For each: the server process's
  CPU time (utime + stime from /proc/<pid>/stat, counted in clock ticks of 1/SC_CLK_TCK s) from just before
  the request until it has gone quiet (no Web API call for 0.5 s, none in flight, and under 20 ms of CPU in
  that half second), its Web API calls by method, the time until the first of them reached the stand-in,
  and the time until the room is ready (the channel exists, the declarer is in it, the card is pinned).
- concurrent: `--concurrent` declarations sent at once: when each room is ready, and when the last Web API
  call came.
- note: `/incident note …` one at a time in an incident channel, after 3 warm-up ones: CPU and Web API calls.
- load: notes into `--rooms` incident channels at `--rate` per second for `--seconds`, each sent on schedule
  whether or not the earlier ones were answered (open loop): the rate answered 200, and the backlog, i.e.
  how long after the last send every acknowledged note was in the database (timeline_event rows of kind
  "note", read with sqlite3) and the Slack calls stopped.
- durability: `--burst` notes at once, all answered, then kill -9 right after the last answer; a new server
  on the same database with the same HASHI_REPLICA_ID; once it is quiet, how many of the acknowledged notes
  are stored, and whether any is stored twice. Then the same with SIGTERM and `--term-burst` notes.

A call's arrival at the stand-in is its answer time (noted by declaration_path.TimedCalls) minus the latency:
the stand-in sleeps the latency first and then answers in well under a millisecond. The client, the
stand-in and the server share this machine; the load section prints the benchmark process's own CPU beside
its figures. Problems the server logged (warnings, errors, tracebacks) are printed after each section.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import signal
import sqlite3
import statistics
import sys
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    Shot,
    client_session,
    command_shot,
    cpu_seconds,
    database_version,
    fire,
    free_port,
    ms,
    percentile,
    print_machine,
    print_table,
    scratch_database,
    start_hashi,
    stop_process,
)
from declaration_path import TimedCalls

from standin.driver import SlackDriver
from standin.harness import ALICE, BOB, CAROL, GENERAL, populate
from standin.server import SlackStandIn
from standin.spec import ApiSpec

SECTIONS = ("declare", "concurrent", "note", "load", "durability")
WARM_UP = 3  # requests of each kind before measuring: first SQL compilations, the users.info cache
QUIET = 0.5  # seconds without a Web API call that count as "the bot has gone quiet"
IDLE_CPU = 0.02  # CPU seconds allowed in that half second: one clock tick (the background loops' passes)
REPLICA = "bench-replica"  # HASHI_REPLICA_ID of every server, so a restart resumes its own deliveries
PEOPLE = (ALICE, BOB, CAROL)
CLIENT_CONNECTIONS = 1000  # the client's pool; under the open-loop load the requests beyond it queue there


@dataclass
class Bot:
    """One section's stand-in, database and `hashi serve` process."""

    standin: SlackStandIn
    calls: TimedCalls
    folder: Path
    database_url: str
    driver: SlackDriver
    http: aiohttp.ClientSession
    latency: float
    problems: list[str]
    profile: Path | None = None
    process: asyncio.subprocess.Process | None = None
    url: str = ""

    @property
    def db_path(self) -> Path:
        """The SQLite file."""
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        """Starts `hashi serve --http` on this database (a new port each time); returns once it is healthy."""
        port = free_port()
        self.process = await start_hashi(
            self.standin,
            folder=self.folder,
            database_url=self.database_url,
            port=port,
            extra_env={"HASHI_REPLICA_ID": REPLICA},
            launcher=("-m", "cProfile", "-o", str(self.profile), "-m", "bot")
            if self.profile
            else ("-m", "bot"),
        )
        self.url = f"http://127.0.0.1:{port}/slack/events"

    def shot(self, text: str, *, user: str, channel: str) -> Shot:
        """A signed `/incident <text>`."""
        return command_shot(self.driver, text, user=user, channel=channel)

    async def send(self, shot: Shot) -> Shot:
        """Sends one prepared request; notes its status and its time to the full answer."""
        started = time.perf_counter()
        try:
            async with self.http.post(self.url, data=shot.body, headers=shot.headers) as answer:
                await answer.read()
                shot.status = answer.status
        except (aiohttp.ClientError, TimeoutError):
            shot.status = -1
        shot.seconds = time.perf_counter() - started
        return shot


@asynccontextmanager
async def section_bot(args: argparse.Namespace, spec: ApiSpec, label: str) -> AsyncIterator[Bot]:
    """A fresh stand-in, SQLite file and server for one section; collects what the server logged."""
    # Slack's rate limits off: the benchmark loads Hashi past what a workspace may call; it measures Hashi.
    standin = SlackStandIn(spec=spec, latency=args.latency, rate_limits=False)
    await standin.start()
    populate(standin)
    calls = TimedCalls(standin.calls)
    standin.calls = calls
    try:
        async with scratch_database("sqlite", label=label) as url, client_session(CLIENT_CONNECTIONS) as http:
            folder = Path(url.removeprefix("sqlite:///")).parent
            driver = SlackDriver(url="", signing_secret="", standin=standin)  # only builds command bodies
            profile = Path(args.profile).with_suffix(f".{label}.prof") if args.profile else None
            bot = Bot(standin, calls, folder, url, driver, http, args.latency, problems=[], profile=profile)
            await bot.start()
            try:
                yield bot
            finally:
                if bot.process is not None and bot.process.returncode is None:
                    await stop_process(bot.process)
                bot.problems.extend(logged_problems(folder / "hashi_serve.log"))
                if standin.rejections:
                    bot.problems.append(
                        f"{len(standin.rejections)} calls the spec rejects, first: {standin.rejections[0]}"
                    )
    finally:
        await standin.stop()


def logged_problems(log: Path) -> list[str]:
    """The server's warning, error and traceback lines, each distinct message once with its count."""
    seen: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        parts = line.split(" ", 3)  # date time LEVEL logger: message
        if len(parts) == 4 and parts[2] in ("WARNING", "ERROR", "CRITICAL"):
            seen[f"{parts[2]} {parts[3]}"] += 1
        elif line.startswith("Traceback") or (line and not line[0].isdigit() and "Error" in line):
            seen[line.strip()] += 1
    return [f"{text} (×{n})" if n > 1 else text for text, n in seen.items()]


# Waiting for the server


async def until_quiet(bot: Bot, *, since: float, within: float = 120.0) -> float:
    """Waits until the server has made no Web API call for QUIET seconds (none in flight) with its CPU idle
    meanwhile; returns the monotonic time its last Web API call after `since` was answered (else `since`)."""
    samples: deque[tuple[float, float]] = deque()
    while True:
        now, cpu = time.monotonic(), cpu_seconds(bot.pid)
        samples.append((now, cpu))
        while len(samples) > 1 and samples[1][0] <= now - QUIET:
            samples.popleft()  # keep the newest sample at least QUIET old, to compare against
        last = max(since, bot.calls.ends[-1] if bot.calls.ends else since)
        then, cpu_then = samples[0]
        if (
            now - last >= QUIET
            and then <= now - QUIET
            and cpu - cpu_then < IDLE_CPU
            and bot.standin.in_flight == 0
        ):
            return last
        if now - since > within:
            raise TimeoutError(f"the server did not go quiet within {within:.0f} s")
        await asyncio.sleep(0.02)


def room_ready(standin: SlackStandIn, slug: str, user: str) -> bool:
    """Whether the channel whose name ends with `slug` exists, has `user` in it and a pinned card."""
    for channel in standin.channels.values():
        if channel.name.endswith(slug):
            return user in channel.members and bool(channel.pins)
    return False


async def until_ready(
    standin: SlackStandIn, rooms: dict[str, str], *, started: float, within: float = 60.0
) -> dict[str, float]:
    """Polls every millisecond until each room (slug → declarer) is ready; returns seconds after `started`."""
    ready: dict[str, float] = {}
    while len(ready) < len(rooms):
        now = time.monotonic()
        for slug, user in rooms.items():
            if slug not in ready and room_ready(standin, slug, user):
                ready[slug] = now - started
        if now - started > within:
            raise TimeoutError(f"{len(rooms) - len(ready)} rooms not ready within {within:.0f} s")
        await asyncio.sleep(0.001)
    return ready


def channel_id(standin: SlackStandIn, slug: str) -> str:
    """The id of the channel whose name ends with `slug`."""
    return next(c.id for c in standin.channels.values() if c.name.endswith(slug))


# The database, read with sqlite3 beside the server (WAL lets it read while the server writes)


def _query(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        return conn.execute(sql, params).fetchall()


async def notes_stored(bot: Bot, prefix: str = "") -> Counter[str]:
    """How many times each note text (starting with `prefix`) is on a timeline."""
    rows = await asyncio.to_thread(
        _query,
        bot.db_path,
        "SELECT text, count(*) FROM timeline_event WHERE kind = 'note' AND text LIKE ? GROUP BY text",
        prefix + "%",
    )
    return Counter(dict(rows))


async def note_count(bot: Bot) -> int:
    """Timeline events of kind "note" in the database."""
    rows = await asyncio.to_thread(
        _query, bot.db_path, "SELECT count(*) FROM timeline_event WHERE kind = 'note'"
    )
    return int(rows[0][0])


async def pending_deliveries(bot: Bot) -> int:
    """Recorded deliveries whose work is not done."""
    rows = await asyncio.to_thread(
        _query, bot.db_path, "SELECT count(*) FROM processed_delivery WHERE done_at IS NULL"
    )
    return int(rows[0][0])


async def watch_notes(bot: Bot, timeline: list[tuple[float, int]]) -> None:
    """Appends (time, notes stored) to `timeline` every 0.1 s until cancelled."""
    while True:
        timeline.append((time.monotonic(), await note_count(bot)))
        await asyncio.sleep(0.1)


def stored_every(timeline: list[tuple[float, int]], started: float, step: float) -> list[int]:
    """The stored count at `started` + step, + 2 step, … until the timeline ends."""
    marks, at = [], started + step
    for t, n in timeline:
        while t >= at:
            marks.append(n)
            at += step
    return marks


# Measuring one request


@dataclass
class Measured:
    """What one request cost the server and how long its effects took (seconds after sending it)."""

    ack: float
    cpu: float
    methods: Counter[str]
    first_call: float
    last_call: float
    ready: float = math.nan

    @property
    def calls(self) -> int:
        """Web API calls in all."""
        return sum(self.methods.values())


async def measure(bot: Bot, shot: Shot, *, room: tuple[str, str] | None = None) -> Measured:
    """Sends one request; waits until its room (slug, declarer) is ready, if any, and the server is quiet."""
    mark = len(bot.calls)
    cpu_before = cpu_seconds(bot.pid)
    started = time.monotonic()
    await bot.send(shot)
    if shot.status != 200:
        raise RuntimeError(f"the server answered {shot.status}")
    ready = (await until_ready(bot.standin, dict([room]), started=started))[room[0]] if room else math.nan
    last = await until_quiet(bot, since=started)
    cpu = cpu_seconds(bot.pid) - cpu_before
    ends = bot.calls.ends[mark:]
    return Measured(
        ack=shot.seconds,
        cpu=cpu,
        methods=Counter(call.method for call in bot.calls[mark:]),
        first_call=min(ends) - bot.latency - started if ends else math.nan,
        last_call=last - started,
        ready=ready,
    )


async def declare(bot: Bot, slug_number: str, *, user: str = ALICE) -> Measured:
    """Declares `Write path <n>` in the general channel and measures it."""
    shot = bot.shot(f"declare SEV2 Write path {slug_number}", user=user, channel=GENERAL)
    return await measure(bot, shot, room=(f"write-path-{slug_number}", user))


async def open_rooms(bot: Bot, count: int, label: str) -> list[str]:
    """Declares `count` incidents one at a time and returns their channels (the set-up of a section)."""
    rooms = []
    for n in range(count):
        await declare(bot, f"{label}-{n:03d}")
        rooms.append(channel_id(bot.standin, f"write-path-{label}-{n:03d}"))
    return rooms


# The sections


@dataclass
class Section:
    """One section's figures, ready to print."""

    title: str
    tables: list[tuple[list[str], list[list[object]]]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


SPREAD = ["figure", "n", "median", "p90", "max", "mean"]


def spread(name: str, values: Sequence[float], show: Callable[[float], str]) -> list[object]:
    """A row of median / p90 / max (and the mean, which the 10 ms CPU clock ticks blur less)."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return [name, 0, "—", "—", "—", "—"]
    stats = (percentile(values, 50), percentile(values, 90), max(values), statistics.fmean(values))
    return [name, len(values), *(show(v) for v in stats)]


def count(value: float) -> str:
    """A count, or a fractional one (a percentile between two counts)."""
    return f"{value:.1f}".removesuffix(".0")


def by_method(results: Sequence[Measured]) -> list[list[object]]:
    """Web API calls per request, one row per method, most frequent first."""
    totals = Counter[str]()
    for r in results:
        totals.update(r.methods)
    return [spread(method, [r.methods[method] for r in results], count) for method, _ in totals.most_common()]


def calls_line(methods: Counter[str], requests: int, what: str) -> str:
    """`N Web API calls (n per note): chat.update: 40, …`."""
    total = sum(methods.values())
    listed = ", ".join(f"{method}: {n}" for method, n in methods.most_common())
    return f"{total} Web API calls ({total / requests:.2f} per {what}): {listed}"


async def section_declare(args: argparse.Namespace, spec: ApiSpec) -> Section:
    section = Section(
        f"declare: {args.declarations} declarations one at a time (after {WARM_UP} warm-up ones), "
        f"`/incident declare SEV2 Write path <n>` by the same person in #general"
    )
    async with section_bot(args, spec, "write_declare") as bot:
        for n in range(WARM_UP):
            await declare(bot, f"warm-{n}")
        results = []
        for n in range(args.declarations):
            results.append(await declare(bot, f"{n:03d}"))
            progress(f"declare {n + 1}/{args.declarations}")
    section.tables.append(
        (
            SPREAD,
            [
                spread("bot CPU per declaration", [r.cpu for r in results], ms),
                spread("Web API calls per declaration", [r.calls for r in results], count),
                spread("send → HTTP answer", [r.ack for r in results], ms),
                spread("send → first Web API call reaches the stand-in", [r.first_call for r in results], ms),
                spread("send → room ready", [r.ready for r in results], ms),
                spread("send → last Web API call answered", [r.last_call for r in results], ms),
            ],
        )
    )
    section.tables.append((["Web API calls per declaration, by method", *SPREAD[1:]], by_method(results)))
    section.problems = bot.problems
    return section


async def section_concurrent(args: argparse.Namespace, spec: ApiSpec) -> Section:
    section = Section(
        f"concurrent: {args.concurrent} declarations sent at once (after {WARM_UP} warm-up ones)"
    )
    async with section_bot(args, spec, "write_concurrent") as bot:
        for n in range(WARM_UP):
            await declare(bot, f"warm-{n}")
        people = [PEOPLE[n % len(PEOPLE)] for n in range(args.concurrent)]
        rooms = {f"write-path-burst-{n:03d}": people[n] for n in range(args.concurrent)}
        shots = [
            bot.shot(f"declare SEV2 Write path burst {n:03d}", user=people[n], channel=GENERAL)
            for n in range(args.concurrent)
        ]
        mark = len(bot.calls)
        cpu_before = cpu_seconds(bot.pid)
        started = time.monotonic()
        sending = asyncio.gather(*(bot.send(shot) for shot in shots))
        ready = await until_ready(bot.standin, rooms, started=started)
        await sending
        last = await until_quiet(bot, since=started)
        cpu = cpu_seconds(bot.pid) - cpu_before
        methods = Counter(call.method for call in bot.calls[mark:])
    failed = sum(1 for s in shots if s.status != 200)
    section.tables.append(
        (
            SPREAD,
            [
                spread("send → HTTP answer", [s.seconds for s in shots], ms),
                spread("send → room ready (max: every room ready)", list(ready.values()), ms),
            ],
        )
    )
    section.lines += [
        f"every room ready {ms(max(ready.values()))} after the first send; last Web API call answered "
        f"{ms(last - started)} after it; {failed} requests not answered 200",
        f"bot CPU for the {args.concurrent}: {ms(cpu)} ({ms(cpu / args.concurrent)} per declaration)",
        calls_line(methods, args.concurrent, "declaration"),
    ]
    section.problems = bot.problems
    return section


async def section_note(args: argparse.Namespace, spec: ApiSpec) -> Section:
    section = Section(
        f"note: {args.notes} `/incident note <text>` one at a time in an incident channel "
        f"(after {WARM_UP} warm-up ones), typed by someone other than the declarer"
    )
    async with section_bot(args, spec, "write_note") as bot:
        (room,) = await open_rooms(bot, 1, "notes")
        for n in range(WARM_UP):
            await measure(bot, bot.shot(f"note Warm-up note {n}", user=BOB, channel=room))
        results = []
        for n in range(args.notes):
            results.append(
                await measure(bot, bot.shot(f"note Write path note {n:03d}", user=BOB, channel=room))
            )
            progress(f"note {n + 1}/{args.notes}")
        stored = await notes_stored(bot, "Write path note ")
    section.tables.append(
        (
            SPREAD,
            [
                spread("bot CPU per note", [r.cpu for r in results], ms),
                spread("Web API calls per note", [r.calls for r in results], count),
                spread("send → HTTP answer", [r.ack for r in results], ms),
                spread("send → last Web API call answered", [r.last_call for r in results], ms),
            ],
        )
    )
    section.tables.append((["Web API calls per note, by method", *SPREAD[1:]], by_method(results)))
    section.lines.append(f"notes stored: {sum(stored.values())} of {args.notes}")
    section.problems = bot.problems
    return section


async def section_load(args: argparse.Namespace, spec: ApiSpec) -> Section:
    total = round(args.rate * args.seconds)
    section = Section(
        f"load: `/incident note` at {args.rate:g}/s for {args.seconds:g} s ({total} notes) into "
        f"{args.rooms} incident channels, sent on schedule whatever the answers (open loop)"
    )
    async with section_bot(args, spec, "write_load") as bot:
        rooms = await open_rooms(bot, args.rooms, "load")
        shots = [
            bot.shot(f"note Load note {n:05d}", user=PEOPLE[n % 3], channel=rooms[n % len(rooms)])
            for n in range(total)
        ]
        answered: list[float] = [math.nan] * total
        flight = [0, 0]  # requests sent and not answered: now, most

        async def send(n: int) -> None:
            flight[0] += 1
            flight[1] = max(flight)
            await bot.send(shots[n])
            flight[0] -= 1
            answered[n] = time.monotonic()

        mark = len(bot.calls)
        cpu_before, own_before = cpu_seconds(bot.pid), time.process_time()
        timeline: list[tuple[float, int]] = []  # (monotonic time, notes stored), sampled throughout
        watching = asyncio.create_task(watch_notes(bot, timeline))
        # The stand-in's record of every call grows in this process; a full collection mid-load would stall
        # both the sender and the stand-in (see fire() in _common.py).
        gc.collect()
        gc.disable()
        try:
            started = time.monotonic()
            tasks = []
            for n in range(total):
                delay = started + n / args.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(send(n)))
            sent = time.monotonic()
            own_load = time.process_time() - own_before
            progress(f"load sent {total} in {sent - started:.1f} s; waiting for the backlog")
            await asyncio.gather(*tasks)
        finally:
            gc.enable()
        acked = sum(1 for s in shots if s.status == 200)
        while time.monotonic() - sent < args.backlog_limit:
            if await note_count(bot) >= acked:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # the watcher's next sample sees it too
        try:
            last = await until_quiet(bot, since=sent, within=args.backlog_limit + 4 * QUIET) - sent
        except TimeoutError:
            last = math.nan
        watching.cancel()
        cpu = cpu_seconds(bot.pid) - cpu_before
        methods = Counter(call.method for call in bot.calls[mark:])
        pending = await pending_deliveries(bot)
    stored = timeline[-1][1]
    stored_at = next((t - sent for t, n in timeline if n >= acked), math.nan)
    at_send_end = max((n for t, n in timeline if t <= sent), default=0)
    in_window = sum(1 for s, t in zip(shots, answered, strict=True) if s.status == 200 and t <= sent)
    last_answer = max(answered)
    section.tables.append(
        (SPREAD, [spread("send → HTTP answer", [s.seconds for s in shots if s.status == 200], ms)])
    )
    section.lines += [
        f"sent {total} in {sent - started:.2f} s ({total / (sent - started):,.0f}/s); answered 200: {acked}, "
        f"other: {total - acked}",
        f"acknowledged while sending: {in_window / (sent - started):,.0f}/s; all {acked} by "
        f"{last_answer - started:.2f} s ({acked / (last_answer - started):,.0f}/s); answered 200 within "
        f"Slack's 3 s: {sum(1 for s in shots if s.status == 200 and s.seconds <= 3.0)}; most in flight: "
        f"{flight[1]} (the client holds at most {CLIENT_CONNECTIONS} connections, the rest wait in its pool)",
        f"stored while sending: {at_send_end} ({at_send_end / (sent - started):,.0f}/s)",
        "backlog after the last send: every acknowledged note stored "
        + (f"+{stored_at:.2f} s" if not math.isnan(stored_at) else f"NOT within {args.backlog_limit:g} s")
        + f" ({stored} stored), last Web API call answered "
        + (f"+{last:.2f} s" if not math.isnan(last) else f"still coming after {args.backlog_limit:g} s")
        + f", {pending} deliveries not done",
        "notes stored, every 10 s from the first send: "
        + ", ".join(str(n) for n in stored_every(timeline, started, 10.0)),
        f"bot CPU over load and backlog: {cpu:.2f} s ({ms(cpu / max(acked, 1))} per note)",
        calls_line(methods, max(acked, 1), "note"),
        f"benchmark process (sender + stand-in) CPU while sending: {own_load:.2f} s in "
        f"{sent - started:.2f} s",
    ]
    section.problems = bot.problems
    return section


async def durability_case(
    args: argparse.Namespace, spec: ApiSpec, how: signal.Signals, size: int
) -> tuple[list[object], list[str]]:
    """A burst of notes, all answered, then `how` at once, a restart on the same database: a table row and
    what the server logged."""
    label = "kill" if how == signal.SIGKILL else "term"
    prefix = f"Durable {label} "
    async with section_bot(args, spec, f"write_durable_{label}") as bot:
        (room,) = await open_rooms(bot, 1, label)
        shots = [bot.shot(f"note {prefix}{n:03d}", user=BOB, channel=room) for n in range(size)]
        await fire(bot.url, shots, concurrency=size, http=bot.http)
        assert bot.process is not None
        bot.process.send_signal(how)  # right after the last answer: the work after the acks is under way
        try:
            code = await asyncio.wait_for(bot.process.wait(), timeout=30)
        except TimeoutError:
            bot.process.kill()
            code = await bot.process.wait()
        acked = {f"{prefix}{n:03d}" for n, s in enumerate(shots) if s.status == 200}
        at_stop = await notes_stored(bot, prefix)
        restarted = time.monotonic()
        await bot.start()
        healthy = time.monotonic() - restarted
        stored, pending = at_stop, -1
        while time.monotonic() - restarted < 60:
            stored, pending = await notes_stored(bot, prefix), await pending_deliveries(bot)
            if acked <= set(stored) and pending == 0:
                break
            await asyncio.sleep(0.05)
        done = time.monotonic() - restarted
        await until_quiet(bot, since=time.monotonic())
        stored, pending = await notes_stored(bot, prefix), await pending_deliveries(bot)
        second_code = await stop_process(bot.process)
    row: list[object] = [
        f"{how.name} ({size} notes)",
        f"{len(acked)}/{size}",
        code,
        sum(at_stop.values()),
        f"{healthy:.1f} s",
        f"{done:.1f} s",
        len(acked & set(stored)),
        len(acked - set(stored)),
        sum(1 for n in stored.values() if n > 1),
        pending,
        second_code,
    ]
    return row, [f"[{how.name}] {line}" for line in bot.problems]


async def section_durability(args: argparse.Namespace, spec: ApiSpec) -> Section:
    section = Section(
        "durability: a burst of notes sent at once, then the signal right after the last answer, then a "
        f"restart on the same SQLite file (HASHI_REPLICA_ID={REPLICA} both times)"
    )
    rows = []
    for how, size in ((signal.SIGKILL, args.burst), (signal.SIGTERM, args.term_burst)):
        row, problems = await durability_case(args, spec, how, size)
        rows.append(row)
        section.problems += problems
        progress(f"durability {how.name} done")
    section.tables.append(
        (
            [
                "stop",
                "answered 200",
                "exit",
                "stored at stop",
                "restart healthy",
                "all stored",
                "acked stored",
                "lost",
                "twice",
                "not done",
                "2nd exit",
            ],
            rows,
        )
    )
    section.lines.append(
        "exit = the first server's exit status (-9: killed); restart healthy / all stored = seconds from the "
        "restart until /healthz answered (the server resumes its unfinished deliveries before it listens) / "
        "every acknowledged note was stored and no delivery was left; "
        "lost / twice = acknowledged notes not stored / stored more than once; not done = deliveries "
        "recorded and not finished at the end; 2nd exit = the restarted server's status after SIGTERM"
    )
    return section


RUNNERS = {
    "declare": section_declare,
    "concurrent": section_concurrent,
    "note": section_note,
    "load": section_load,
    "durability": section_durability,
}


def progress(line: str) -> None:
    """A line while the benchmark runs (the report comes at the end)."""
    print(f"  … {line}", flush=True)


async def run(args: argparse.Namespace) -> tuple[list[Section], str]:
    spec = ApiSpec.load()
    sections = []
    for name in args.only:
        progress(f"section {name}")
        started = time.monotonic()
        try:
            section = await RUNNERS[name](args, spec)
        except Exception as exc:  # a broken section is reported; the others still run
            section = Section(f"{name}: FAILED — {type(exc).__name__}: {exc}")
        section.seconds = time.monotonic() - started
        sections.append(section)
    return sections, await database_version("sqlite://")


def parse_only(text: str) -> list[str]:
    """`declare,note` → the sections in the order given, each known."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}"
        )
    return names


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--latency", type=float, default=0.05, help="seconds the stand-in waits per Web API call"
    )
    parser.add_argument("--declarations", type=int, default=30, help="declarations one at a time")
    parser.add_argument("--concurrent", type=int, default=20, help="declarations sent at once")
    parser.add_argument("--notes", type=int, default=50, help="notes one at a time")
    parser.add_argument("--rate", type=float, default=200, help="notes per second in the load")
    parser.add_argument("--seconds", type=float, default=20, help="length of the load")
    parser.add_argument("--rooms", type=int, default=4, help="incident channels the load writes into")
    parser.add_argument("--backlog-limit", type=float, default=120, help="seconds to wait for the backlog")
    parser.add_argument("--burst", type=int, default=60, help="notes in the burst before kill -9")
    parser.add_argument("--term-burst", type=int, default=150, help="notes in the burst before SIGTERM")
    parser.add_argument(
        "--profile", metavar="FILE", help="run the server under cProfile, one FILE.<section>.prof per section"
    )
    parser.add_argument("--only", type=parse_only, default=list(SECTIONS), help=",".join(SECTIONS))
    args = parser.parse_args()
    with_time = time.monotonic()
    sections, version = asyncio.run(run(args))
    print()
    print_machine([f"Hashi's: {version}"])
    print(
        f"write path of `hashi serve --http` (a subprocess, fresh SQLite file per section); stand-in latency "
        f"{ms(args.latency)} per Web API call; quiet = no Web API call for {QUIET:g} s and under "
        f"{IDLE_CPU * 1000:.0f} ms of bot CPU in it; CPU from /proc/<pid>/stat in ticks of "
        f"{1000 / os.sysconf('SC_CLK_TCK'):.0f} ms"
    )
    print()
    for section in sections:
        print(f"{section.title}  [{section.seconds:.0f} s]")
        for headers, rows in section.tables:
            print_table(headers, rows)
        for line in section.lines:
            print(f"  {line}")
        print(
            "  server log: "
            + ("no warnings or errors" if not section.problems else f"{len(section.problems)} lines of note:")
        )
        for line in section.problems[:12]:
            print(f"    {line[:300]}")
        print()
    print(f"total {time.monotonic() - with_time:.0f} s")
    return 0 if all("FAILED" not in s.title for s in sections) else 1


if __name__ == "__main__":
    sys.exit(main())
