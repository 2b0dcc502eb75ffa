"""What the benchmark scripts share: the machine they ran on, percentiles, tables, databases, load."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("HASHI_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# The machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def machine() -> list[tuple[str, str]]:
    """The machine a figure was measured on."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("platform", platform.platform()),
        ("cpu", f"{_cpu_model()} — {os.cpu_count()} cores ({usable} usable), {_memory_gib()} RAM"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("load average", " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min; at the report)"),
        ("code", _code_version()),
    ]


def _code_version() -> str:
    """The commit measured, and whether bot/ or storage/ differed from it."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "bot", "storage")
    return head + (" + uncommitted changes in bot/ or storage/" if dirty else "")


async def database_version(url: str) -> str:
    """`SQLite 3.x` or `PostgreSQL 15.x`, as the server reports it."""
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version} (sqlite3 on the event loop, storage.sqlite_inline; WAL)"
    conn = await asyncpg.connect(_plain_pg(url))
    try:
        version = str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
    return f"PostgreSQL {version} (asyncpg) at {make_url(url).host}:{make_url(url).port or 5432}"


def print_machine(databases: Sequence[str] = ()) -> None:
    """Prints the machine block every script starts its report with."""
    print("machine")
    rows = [*machine(), *(("database", d) for d in databases)]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")
    print()


# Figures


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    """Seconds shown as milliseconds."""
    return "—" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    """PASS or FAIL beside a target."""
    return "PASS" if ok else "FAIL"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str = "") -> None:
    """A plain aligned table (first column left, the rest right)."""
    if title:
        print(title)
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))]
        return "  " + "  ".join(parts).rstrip()

    print(line(cells[0]))
    print("  " + "  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))
    print()


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """`with stopwatch() as elapsed:` … `elapsed()` is the seconds since the block began (frozen after)."""
    started = time.perf_counter()
    ended: list[float] = []
    yield lambda: (ended[0] if ended else time.perf_counter()) - started
    ended.append(time.perf_counter())


# Databases


def _plain_pg(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def scratch_database(kind: str, *, label: str) -> AsyncIterator[str]:
    """A new empty database (a SQLite file in a temporary folder, or `hashi_bench_*` on PostgreSQL),
    dropped afterwards; yields its URL in the form HASHI_DATABASE_URL takes."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"hashi_bench_{label}_"))
        try:
            yield f"sqlite:///{folder / 'hashi.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"hashi_bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(_plain_pg(PG_ADMIN_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(_plain_pg(PG_ADMIN_URL))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def postgres_reachable() -> bool:
    """Whether the benchmark PostgreSQL server answers."""
    try:
        conn = await asyncpg.connect(_plain_pg(PG_ADMIN_URL), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


# Processes


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc/<pid>/status."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found["VmRSS"], found["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def serve_env(*, api_url: str, token: str, secret: str, database_url: str, folder: Path) -> dict[str, str]:
    """The environment of a `hashi serve --http` pointed at the stand-in (no .env, no hashi.toml)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": secret,
        "HASHI_SLACK_API_URL": api_url,
        "HASHI_DATABASE_URL": database_url,
        "HASHI_HOST": "127.0.0.1",
        "HASHI_CONFIG": str(folder / "none.toml"),
        "HASHI_ANNOUNCE_CHANNEL": "C0ANNOUNCE",
    }
    env.pop("SLACK_APP_TOKEN", None)
    return env


async def start_process(
    args: Sequence[str],
    *,
    name: str,
    env: dict[str, str],
    cwd: Path,
    health_url: str,
    within: float = 30.0,
) -> asyncio.subprocess.Process:
    """Starts a server process (its stderr in cwd/<name>.log) and waits until its health URL answers 200."""
    log = (cwd / f"{name}.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        *args, env=env, cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=log
    )
    log.close()
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{' '.join(args[1:3])} exited early (see {log.name})")
            try:
                async with http.get(health_url) as answer:
                    if answer.status == 200:
                        return process
            except aiohttp.ClientConnectionError:
                pass
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{health_url} did not answer within {within:.0f} s (see {log.name})")
            await asyncio.sleep(0.1)


async def stop_process(process: asyncio.subprocess.Process) -> int | None:
    """Sends SIGTERM and waits (SIGKILL after 20 s); returns the exit status."""
    if process.returncode is None:
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout=20)
    except TimeoutError:
        process.kill()
        await process.wait()
    return process.returncode


# Load


@dataclass
class Shot:
    """One prepared signed request and what it measured."""

    kind: str
    body: bytes
    headers: dict[str, str]
    seconds: float = math.nan
    status: int = 0


@dataclass
class LoadResult:
    """The shots of one load run, grouped by kind."""

    shots: list[Shot] = field(default_factory=list)
    wall: float = 0.0

    def latencies(self, kind: str | None = None) -> list[float]:
        """Response times of successful shots (of one kind, or all)."""
        return [s.seconds for s in self.shots if s.status == 200 and (kind is None or s.kind == kind)]

    def failures(self) -> int:
        """Shots not answered 200."""
        return sum(1 for s in self.shots if s.status != 200)

    def kinds(self) -> list[str]:
        """The kinds in first-seen order."""
        return list(dict.fromkeys(s.kind for s in self.shots))


def client_session(concurrency: int) -> aiohttp.ClientSession:
    """A client whose connection pool holds `concurrency` keep-alive connections."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency), timeout=aiohttp.ClientTimeout(total=120)
    )


async def fire(
    url: str, shots: Sequence[Shot], *, concurrency: int, http: aiohttp.ClientSession
) -> LoadResult:
    """Sends prepared shots with at most `concurrency` in flight; each is timed from send to full answer."""
    result = LoadResult(shots=list(shots))
    queue: asyncio.Queue[Shot] = asyncio.Queue()
    for shot in result.shots:
        queue.put_nowait(shot)

    async def worker() -> None:
        while not queue.empty():
            shot = queue.get_nowait()
            started = time.perf_counter()
            try:
                async with http.post(url, data=shot.body, headers=shot.headers) as answer:
                    await answer.read()
                    shot.status = answer.status
            except (aiohttp.ClientError, TimeoutError):
                shot.status = -1
            shot.seconds = time.perf_counter() - started

    # The load generator shares its process (and heap) with the Slack stand-in, whose record of every call
    # grows run after run: a full collection of it in the middle of a burst stalled the client for 50 ms and
    # landed in whichever server was being measured. It collects before the burst, not during it.
    gc.collect()
    gc.disable()
    try:
        with stopwatch() as elapsed:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        gc.enable()
    result.wall = elapsed()
    return result


async def wait_quiet(count: Callable[[], int], *, quiet: float = 0.5, within: float = 300.0) -> float:
    """Waits until `count()` stops growing for `quiet` seconds; returns how long that took."""
    with stopwatch() as elapsed:
        seen = -1
        while elapsed() < within:
            now = count()
            if now == seen:
                return elapsed() - quiet
            seen = now
            await asyncio.sleep(quiet)
    return elapsed()


async def gather_limited(works: Sequence[Callable[[], Awaitable[Any]]], *, concurrency: int) -> list[Any]:
    """Runs zero-argument coroutine functions with at most `concurrency` at once, in order of the list."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(work: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await work()

    return await asyncio.gather(*(one(w) for w in works))


# Servers and Slack's requests


SECRET = "bench-signing-secret"


async def start_hashi(
    standin: Any,
    *,
    folder: Path,
    database_url: str,
    port: int,
    launcher: Sequence[str] = ("-m", "bot"),
    extra_env: dict[str, str] | None = None,
) -> asyncio.subprocess.Process:
    """`python -m bot serve --http` pointed at the stand-in (`launcher` may put a profiler in between;
    `extra_env` adds variables such as HASHI_REPLICA_ID)."""
    env = serve_env(
        api_url=standin.api_url,
        token=standin.bot_token,
        secret=SECRET,
        database_url=database_url,
        folder=folder,
    )
    env.update(extra_env or {})
    return await start_process(
        [sys.executable, *launcher, "serve", "--http", "--port", str(port)],
        name="hashi_serve",
        env=env,
        cwd=folder,
        health_url=f"http://127.0.0.1:{port}/healthz",
    )


async def start_bare(standin: Any, *, folder: Path, port: int) -> asyncio.subprocess.Process:
    """bench/bare_bolt.py: a Bolt app that only acks, served the same way."""
    args = [
        "--port",
        str(port),
        "--secret",
        SECRET,
        "--token",
        standin.bot_token,
        "--api-url",
        standin.api_url,
    ]
    return await start_process(
        [sys.executable, str(BENCH_DIR / "bare_bolt.py"), *args],
        name="bare_bolt",
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        cwd=folder,
        health_url=f"http://127.0.0.1:{port}/healthz",
    )


def _signed(body: str) -> tuple[bytes, dict[str, str]]:
    from standin.driver import sign

    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body, int(time.time()))}
    return body.encode(), headers


def command_shot(driver: Any, text: str, *, user: str, channel: str, kind: str = "command") -> Shot:
    """One signed `/incident <text>` typed by `user` in `channel` (its own trigger_id)."""
    from urllib.parse import urlencode

    body, headers = _signed(urlencode(driver.command_body(text, user_id=user, channel_id=channel)))
    return Shot(kind=kind, body=body, headers=headers)


def _button(message: dict[str, Any], action_id: str) -> tuple[dict[str, Any], str]:
    for block in message.get("blocks", []):
        for element in [*block.get("elements", []), *([block["accessory"]] if "accessory" in block else [])]:
            if element.get("action_id") == action_id:
                return element, str(block.get("block_id", ""))
    raise LookupError(f"no {action_id} on the card")


# The request mix: (kind, share). Commands in the general channel and in the incident's, card buttons.
MIX = (
    ("/incident help", 0.20),
    ("/incident list", 0.20),
    ("/incident note (incident channel)", 0.30),
    ("click Acknowledge", 0.15),
    ("click Add note", 0.15),
)


def build_shots(driver: Any, *, room: str, card: dict[str, Any], count: int, seed: int = 1) -> list[Shot]:
    """`count` signed requests in the MIX proportions, shuffled; each command has its own trigger_id."""
    import json
    import random
    from urllib.parse import quote, urlencode

    from bot.slack.ids import Action

    people = ["U0ALICE", "U0BOB", "U0CAROL"]
    rng = random.Random(seed)
    kinds = [kind for kind, share in MIX for _ in range(round(share * count))]
    kinds = (kinds + [MIX[0][0]] * count)[:count]
    rng.shuffle(kinds)
    shots = []
    for n, kind in enumerate(kinds):
        user = people[n % len(people)]
        if kind.startswith("/incident"):
            word = kind.split()[1]
            text = f"note Bench note {n} from the load" if word == "note" else word
            channel = room if word == "note" else "C0GENERAL"
            fields = driver.command_body(text, user_id=user, channel_id=channel)
            body, headers = _signed(urlencode(fields))
        else:
            action_id = Action.ACK if kind == "click Acknowledge" else Action.NOTE
            element, block_id = _button(card, action_id)
            action = {
                "action_id": str(action_id),
                "block_id": block_id,
                "type": "button",
                "text": element["text"],
                "value": element.get("value", ""),
            }
            payload = driver.block_actions(user_id=user, channel_id=room, message=card, action=action)
            body, headers = _signed("payload=" + quote(json.dumps(payload)))
        shots.append(Shot(kind=kind, body=body, headers=headers))
    return shots


def profile_summary(stats: Any, limit: int = 12, *, by_package: bool = False) -> str:
    """Hashi's own functions by cumulative time, then everything by own time (from pstats.Stats), and
    optionally own time summed by package (for asyncio servers, where cumulative times include waiting)."""
    import io
    import pstats

    out = io.StringIO()
    report = pstats.Stats(stats, stream=out)
    if not by_package:
        report.sort_stats("cumulative").print_stats(r"/(bot|storage)/", limit)
    report.sort_stats("tottime").print_stats(r"^(?!.*'poll' of 'select)", limit)
    keep = [
        line
        for line in out.getvalue().splitlines()
        if line.strip()
        and not line.lstrip().startswith(("List reduced", "Ordered by", "function calls", "/tmp/"))
        and not line.lstrip()[:3].isalpha()
    ]
    text = "\n".join(line.replace(str(REPO_ROOT) + "/", "") for line in keep)
    if not by_package:
        return text
    totals: dict[str, float] = {}
    for (filename, _, function), row in report.stats.items():  # type: ignore[attr-defined]
        totals[_package(filename, function)] = totals.get(_package(filename, function), 0.0) + row[2]
    waiting = totals.pop("(waiting in epoll)", 0.0)
    busy = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:limit]
    lines = [f"  {seconds:7.2f} s  {seconds / busy:6.1%}  {name}" for name, seconds in ranked]
    head = f"own time by package: {busy:.2f} s busy, {waiting:.2f} s waiting in epoll"
    return f"{text}\n{head}\n" + "\n".join(lines)


def _package(filename: str, function: str) -> str:
    if "'poll' of 'select" in function:
        return "(waiting in epoll)"
    if filename == "~":
        return "(builtins: " + function.split("'")[1].split(".")[0] + ")" if "'" in function else "(builtins)"
    path = filename.replace(str(REPO_ROOT) + "/", "")
    if path.startswith(("bot/", "storage/")):
        return "hashi: " + "/".join(path.split("/")[:2])
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0]
    if "/lib/python3" in path:
        rest = path.split("/lib/python3")[1].split("/", 1)[1]
        return "stdlib: " + rest.split("/")[0].removesuffix(".py")
    return path
