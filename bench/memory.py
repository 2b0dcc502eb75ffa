"""Resident memory of an idle and of a loaded `hashi serve --http`, beside a bare Bolt app.

    .venv/bin/python bench/memory.py [--requests 1000] [--loads 3] [--concurrency 50] [--db sqlite] [--trace]

Starts the Slack stand-in in this process and, as subprocesses, the real `python -m bot serve --http`
(HASHI_SLACK_API_URL, SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET pointing at the stand-in, a temporary SQLite
database) and bench/bare_bolt.py (a Bolt app that only acks). Reads VmRSS (and the peak, VmHWM) from
/proc/<pid>/status when idle after start, after one declaration, and after each load of `--requests` signed
requests (the ack_latency.py mix: /incident help, list and note, Acknowledge and Add note clicks), each
time once the server has finished its work. A second load shows whether memory keeps growing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    SECRET,
    build_shots,
    client_session,
    database_version,
    fire,
    free_port,
    print_machine,
    print_table,
    rss_kib,
    scratch_database,
    start_bare,
    start_hashi,
    stop_process,
)
from ack_latency import declare_incident, wait_idle

from standin.driver import SlackDriver
from standin.harness import populate
from standin.server import SlackStandIn


def mib(kib: int) -> str:
    """KiB shown as MiB."""
    return f"{kib / 1024:.1f} MiB"


async def run(args: argparse.Namespace) -> tuple[list[list[object]], str, list[str]]:
    # Slack's rate limits off: the benchmark loads Hashi past what a workspace may call; it measures Hashi.
    standin = SlackStandIn(spec=None, latency=0.0, rate_limits=False)
    await standin.start()
    populate(standin)
    rows: list[list[object]] = []
    top: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="hashi_bench_mem_") as tmp:
            folder = Path(tmp)
            async with scratch_database(args.db, label="memory") as db_url:
                version = await database_version(db_url)
                ports = {"Hashi": free_port(), "bare Bolt": free_port()}
                probe_path = folder / "probe.json"
                launcher = (
                    (str(BENCH_DIR / "traced_serve.py"), str(probe_path)) if args.trace else ("-m", "bot")
                )
                hashi = await start_hashi(
                    standin, folder=folder, database_url=db_url, port=ports["Hashi"], launcher=launcher
                )
                bare = await start_bare(standin, folder=folder, port=ports["bare Bolt"])
                servers = {"Hashi": hashi, "bare Bolt": bare}
                urls = {name: f"http://127.0.0.1:{port}/slack/events" for name, port in ports.items()}
                try:
                    await wait_idle(hashi.pid, standin)
                    await asyncio.sleep(1.0)

                    async def sample(stage: str) -> None:
                        for name, process in servers.items():
                            rss, peak = rss_kib(process.pid)
                            live = await probe(hashi, probe_path) if args.trace and name == "Hashi" else None
                            rows.append([name, stage, mib(rss), mib(peak), *_live_columns(live, args.trace)])
                            if live:
                                top[:] = live["top"]

                    await sample("idle after start")
                    room, card = await declare_incident(standin, urls["Hashi"])
                    await wait_idle(hashi.pid, standin)
                    await sample("after one declaration")
                    driver = SlackDriver(url=urls["Hashi"], signing_secret=SECRET, standin=standin)
                    for load in range(1, args.loads + 1):
                        for name in servers:
                            shots = build_shots(driver, room=room, card=card, count=args.requests, seed=load)
                            async with client_session(args.concurrency) as http:
                                result = await fire(
                                    urls[name], shots, concurrency=args.concurrency, http=http
                                )
                            if result.failures():
                                print(f"{name}: {result.failures()} requests not answered 200")
                        await wait_idle(hashi.pid, standin)
                        await sample(f"after load {load} ({load * args.requests:,} requests)")
                finally:
                    for process in servers.values():
                        await stop_process(process)
    finally:
        await standin.stop()
    return rows, version, top


def _read_probe(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None  # not written yet, or still being written


async def probe(process: asyncio.subprocess.Process, path: Path) -> dict[str, Any]:
    """Asks traced_serve.py for what Python holds (SIGUSR1) and reads its answer."""
    await asyncio.to_thread(path.unlink, missing_ok=True)
    process.send_signal(signal.SIGUSR1)
    for _ in range(600):
        await asyncio.sleep(0.05)
        answer = await asyncio.to_thread(_read_probe, path)
        if answer is not None:
            return answer
    raise TimeoutError("traced_serve.py did not answer SIGUSR1")


def _live_columns(live: dict[str, Any] | None, trace: bool) -> list[str]:
    if not trace:
        return []
    if live is None:
        return ["", "", ""]
    return [
        mib(live["traced_current"] // 1024),
        mib(live["traced_peak"] // 1024),
        f"{live['gc_objects']:,}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="requests per load")
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="Hashi's database")
    parser.add_argument("--trace", action="store_true", help="run Hashi under tracemalloc (slower)")
    args = parser.parse_args()
    rows, version, top = asyncio.run(run(args))
    print_machine([f"Hashi's: {version}"])
    print(
        f"resident memory: {args.loads} loads of {args.requests:,} signed requests, "
        f"{args.concurrency} in flight; read from /proc/<pid>/status once each server is idle"
    )
    print()
    rows.sort(key=lambda row: row[0] != "Hashi")
    live = ["Python live", "Python peak so far", "gc objects"] if args.trace else []
    print_table(["server", "when", "VmRSS", "VmHWM (peak)", *live], rows)
    if top:
        print("largest live allocation sites in Hashi at the last sample (tracemalloc):")
        print("\n".join(f"  {line}" for line in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
