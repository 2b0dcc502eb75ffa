"""Acknowledgement latency of `/incident` commands and button clicks, Hashi beside a bare Bolt app.

    .venv/bin/python bench/ack_latency.py [--concurrency 200] [--requests 2000] [--rounds 4] [--db sqlite]

Starts the Slack stand-in (latency 0, so Slack is never the bottleneck) in this process, then two servers
as subprocesses: the real `python -m bot serve --http` (migrated database, the stand-in as its Web API) and
bench/bare_bolt.py, a Bolt AsyncApp whose listeners only ack, served the same way (aiohttp with
slack_bolt.adapter.aiohttp.to_bolt_request / to_aiohttp_response) with the same signing secret.

Hashi declares one incident first. Then, in rounds that alternate which server goes first, each server gets
the same mix of signed requests, `--concurrency` in flight: `/incident help` and `/incident list` in a
general channel, `/incident note …` in the incident channel, and clicks of the card's Acknowledge and Add
note buttons. Latency is the time from sending a request to reading the whole HTTP answer (Bolt answers once
the listener has called ack(); Hashi's work after the ack runs on the same event loop and competes for it).
Each server is warmed up on its pooled keep-alive connections first, and Hashi's work from one round is let
finish (its CPU idle, no more Web API calls) before the next round starts.

The load generator, the stand-in and the servers share the machine's cores; the figures compare the two
servers under the same conditions rather than claiming absolute capacity.
Target: Hashi's p99 within 1.2× of bare Bolt's (issue 15; issue 7 asked for 1.5×).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    MIX,
    SECRET,
    LoadResult,
    Shot,
    build_shots,
    client_session,
    cpu_seconds,
    database_version,
    fire,
    free_port,
    ms,
    percentile,
    print_machine,
    print_table,
    profile_summary,
    scratch_database,
    start_bare,
    start_hashi,
    stop_process,
    verdict,
)

from standin.driver import SlackDriver
from standin.harness import ALICE, GENERAL, populate
from standin.server import SlackStandIn

TARGET_RATIO = 1.2


async def wait_idle(pid: int, standin: SlackStandIn, *, within: float = 600.0) -> float:
    """Waits until the process uses no CPU and makes no Web API call for half a second; returns the wait."""
    started = time.monotonic()
    before = (cpu_seconds(pid), len(standin.calls))
    while time.monotonic() - started < within:
        await asyncio.sleep(0.5)
        now = (cpu_seconds(pid), len(standin.calls))
        if now[0] - before[0] < 0.02 and now[1] == before[1]:
            return time.monotonic() - started - 0.5
        before = now
    return time.monotonic() - started


async def declare_incident(standin: SlackStandIn, url: str) -> tuple[str, dict[str, object]]:
    """Declares the incident the load works on; returns its channel and pinned card."""
    async with SlackDriver(url=url, signing_secret=SECRET, standin=standin) as driver:
        sent = await driver.command(
            "declare SEV2 Bench acknowledgement latency", user_id=ALICE, channel_id=GENERAL
        )
        if sent.status != 200:
            raise RuntimeError(f"declare answered {sent.status}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for channel in standin.channels.values():
            if channel.name.startswith("inc-") and channel.pins:
                card = next(m for m in channel.messages if m["ts"] in channel.pins)
                return channel.id, copy.deepcopy(card)  # as first shown: chat.update changes it in place
        await asyncio.sleep(0.05)
    raise TimeoutError("the incident room was not set up")


async def burst(
    args: argparse.Namespace,
    *,
    url: str,
    server: asyncio.subprocess.Process,
    hashi: asyncio.subprocess.Process,
    standin: SlackStandIn,
    shots: list[Shot],
    warm: list[Shot],
) -> tuple[LoadResult, float]:
    """Warms a server's pooled connections up, lets Hashi go idle, then fires the shots; returns the result
    and the server's CPU seconds per request during the burst."""
    async with client_session(args.concurrency) as http:
        await fire(url, warm, concurrency=args.concurrency, http=http)
        await wait_idle(hashi.pid, standin)
        cpu_before = cpu_seconds(server.pid)
        result = await fire(url, shots, concurrency=args.concurrency, http=http)
        return result, (cpu_seconds(server.pid) - cpu_before) / len(shots)


async def run(
    args: argparse.Namespace,
) -> tuple[dict[str, list[LoadResult]], dict[str, list[float]], str, str]:
    # Slack's rate limits off: the benchmark loads Hashi past what a workspace may call; it measures Hashi.
    standin = SlackStandIn(spec=None, latency=0.0, rate_limits=False)
    await standin.start()
    populate(standin)
    results: dict[str, list[LoadResult]] = {"bare Bolt": [], "Hashi": []}
    extra: dict[str, list[float]] = {"cpu bare Bolt": [], "cpu Hashi": [], "drain": []}
    try:
        with tempfile.TemporaryDirectory(prefix="hashi_bench_ack_") as tmp:
            folder = Path(tmp)
            async with scratch_database(args.db, label="ack") as db_url:
                version = await database_version(db_url)
                ports = {"Hashi": free_port(), "bare Bolt": free_port()}
                profile_path = folder / "hashi.prof"
                launcher = (
                    ("-m", "cProfile", "-o", str(profile_path), "-m", "bot")
                    if args.profile
                    else ("-m", "bot")
                )
                hashi = await start_hashi(
                    standin, folder=folder, database_url=db_url, port=ports["Hashi"], launcher=launcher
                )
                bare = await start_bare(standin, folder=folder, port=ports["bare Bolt"])
                servers = {"Hashi": hashi, "bare Bolt": bare}
                urls = {name: f"http://127.0.0.1:{port}/slack/events" for name, port in ports.items()}
                try:
                    room, card = await declare_incident(standin, urls["Hashi"])
                    await wait_idle(hashi.pid, standin)
                    driver = SlackDriver(url=urls["Hashi"], signing_secret=SECRET, standin=standin)
                    per_round = max(1, args.requests // args.rounds)
                    for r in range(args.rounds):
                        for name in ["bare Bolt", "Hashi"][:: 1 if r % 2 == 0 else -1]:
                            helps = build_shots(driver, room=room, card=card, count=args.concurrency * 2)
                            warm = _times([s for s in helps if s.kind == MIX[0][0]], args.concurrency)
                            shots = build_shots(driver, room=room, card=card, count=per_round, seed=100 + r)
                            result, cpu = await burst(
                                args,
                                url=urls[name],
                                server=servers[name],
                                hashi=hashi,
                                standin=standin,
                                shots=shots,
                                warm=warm,
                            )
                            results[name].append(result)
                            extra[f"cpu {name}"].append(cpu)
                            drained = await wait_idle(hashi.pid, standin)
                            if name == "Hashi":
                                extra["drain"].append(drained)
                            print(
                                f"round {r + 1}/{args.rounds} {name}: {len(shots)} requests "
                                f"in {result.wall:.2f} s, p99 {ms(percentile(result.latencies(), 99))}, "
                                f"{result.failures()} not 200"
                            )
                            sys.stdout.flush()
                finally:
                    for process in servers.values():
                        await stop_process(process)
                profile = profile_summary(str(profile_path), 20, by_package=True) if args.profile else ""
    finally:
        await standin.stop()
    return results, extra, version, profile


def _times(shots: list[Shot], count: int) -> list[Shot]:
    """`count` shots, repeating the list (warm-up requests; a repeated trigger_id is fine there)."""
    return [shots[n % len(shots)] for n in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per server, all rounds")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, alternating which server goes first")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="Hashi's database")
    parser.add_argument("--profile", action="store_true", help="run Hashi under cProfile and summarise it")
    args = parser.parse_args()
    results, extra, version, profile = asyncio.run(run(args))

    def merged(name: str) -> LoadResult:
        all_shots = [shot for result in results[name] for shot in result.shots]
        return LoadResult(shots=all_shots, wall=sum(r.wall for r in results[name]))

    bare, hashi = merged("bare Bolt"), merged("Hashi")
    print()
    print_machine([f"Hashi's: {version}"])
    print(
        f"acknowledgement latency: {args.requests} requests per server in {args.rounds} rounds, "
        f"{args.concurrency} in flight; stand-in latency 0; client, stand-in and both servers on this machine"
    )
    print(f"target: Hashi p99 ≤ {TARGET_RATIO}× bare Bolt p99")
    print()
    rows = []
    for kind in [*bare.kinds(), None]:
        b, h = bare.latencies(kind), hashi.latencies(kind)
        b99, h99 = percentile(b, 99), percentile(h, 99)
        rows.append(
            [
                kind or "all requests",
                len(h),
                ms(percentile(b, 50)),
                ms(b99),
                ms(percentile(h, 50)),
                ms(h99),
                f"{h99 / b99:.2f}×",
                verdict(h99 <= TARGET_RATIO * b99) if kind is None else "",
            ]
        )
    print_table(
        ["request", "n", "bare p50", "bare p99", "Hashi p50", "Hashi p99", "p99 ratio", f"≤ {TARGET_RATIO}×"],
        rows,
    )
    per_round = [
        percentile(h.latencies(), 99) / percentile(b.latencies(), 99)
        for b, h in zip(results["bare Bolt"], results["Hashi"], strict=True)
    ]
    print(
        "p99 ratio round by round: "
        + ", ".join(f"{ratio:.2f}×" for ratio in per_round)
        + f" (median {statistics.median(per_round):.2f}×; a round where something else ran on the machine "
        "shows up here)"
    )
    print()
    print_table(
        ["server", "requests/s", "not 200", "server CPU per request", "work left after the burst"],
        [
            [
                "bare Bolt",
                f"{len(bare.shots) / bare.wall:,.0f}",
                bare.failures(),
                ms(sum(extra["cpu bare Bolt"]) / len(extra["cpu bare Bolt"])),
                "—",
            ],
            [
                "Hashi",
                f"{len(hashi.shots) / hashi.wall:,.0f}",
                hashi.failures(),
                ms(sum(extra["cpu Hashi"]) / len(extra["cpu Hashi"])),
                " / ".join(f"{d:.1f} s" for d in extra["drain"]),
            ],
        ],
    )
    print(
        "server CPU per request counts the CPU the server process used during the burst (for Hashi that "
        "includes whatever of its after-ack work ran meanwhile); work left = how long Hashi kept working "
        "(CPU busy or Web API calls) after the burst's last answer."
    )
    if profile:
        print()
        print("cProfile of the Hashi server over the whole run (start-up, bursts and the work after them):")
        print(profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
