"""The declaration critical path: sequential Slack Web API round trips, and the time until the room is ready.

    .venv/bin/python bench/declaration_path.py [--latency 0.1] [--repeat 10] [--db sqlite|postgres]

Runs the real app over HTTP (standin.harness.running_hashi) against the Slack stand-in, which answers
every Web API call after `--latency` seconds. Sends `/incident declare SEV2 …` and measures the time until the
channel exists with the declarer in it and the incident card pinned, and how many Web API round trips on
the way had to wait for one another.

How round trips are counted: the stand-in records each call when it answers it (`SlackStandIn.calls`) but
not when it started. This script swaps that list, on the running stand-in only, for one that also notes the
monotonic time of each append (the moment the answer was ready); nothing of Hashi or the stand-in is
subclassed or wrapped. A call's start is then its end minus the latency (the stand-in sleeps that long before
handling, and handling takes well under a millisecond), so the estimate is never earlier than the true
start. Two calls are sequential when the later one started after the earlier one's answer was ready (2 ms
of tolerance for timers): a call that started before then cannot have waited for that answer, however
close the two are. (Before fb2d1fe the tolerance was half a latency, which counted a call started up to
50 ms before another's answer as waiting for it: the first declaration after start, whose own database
work runs about 90 ms beside the declarer's users.info, came out at 4 or 5 from run to run.) The depth is
the longest chain of such calls among the calls that finished by the time the room was ready.
`elapsed / latency` is shown beside it as a cross-check. Target (issue 7): at most 4 sequential round trips.

Scenarios: the first declaration after start (Bolt's own auth.test and the declarer's users.info are not
cached yet; `hashi serve` looks up the bot's identity at start, and so does this script), declarers Hashi
has seen in the last 10 minutes (users.info cached), declarers it has not (users.info on the path), and SEV1
declarations whose `[invites]` name a user group (usergroups.users.list on the path, beside
conversations.create).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from _common import (
    database_version,
    ms,
    percentile,
    print_machine,
    print_table,
    scratch_database,
    verdict,
)

from bot.settings import TeamConfig
from standin.harness import ALICE, BOB, CAROL, GENERAL, Hashi, running_hashi
from standin.server import SlackStandIn
from standin.spec import ApiSpec

TARGET_DEPTH = 4
# SEV1 invites the on-call user group and Bob (hashi.toml `[invites]`), for the fourth scenario.
ONCALL = ("S0ONCALL", "oncall", [CAROL])
INVITING_TEAM = TeamConfig(invites={"SEV1": ("S0ONCALL", BOB)})
READY_METHODS = ("conversations.create", "conversations.invite", "pins.add")


class TimedCalls(list[Any]):
    """The stand-in's list of recorded calls, also noting when each was appended (its answer time)."""

    def __init__(self, existing: list[Any]) -> None:
        super().__init__(existing)
        self.ends: list[float] = [0.0] * len(existing)

    def append(self, call: Any) -> None:
        self.ends.append(time.monotonic())
        super().append(call)


@dataclass
class Declaration:
    """What one declaration measured."""

    scenario: str
    ack: float
    ready: float
    polled: float
    depth: int
    chain: list[str]
    calls_before_ready: int
    calls_total: int


TIMER_TOLERANCE = 0.002  # seconds: asyncio timers and the stand-in's handling, not a share of the latency


def critical_chain(calls: list[tuple[str, float]], *, latency: float, until: float) -> tuple[int, list[str]]:
    """The longest chain of calls (method, end time) each started after the previous one ended, and the
    calls at each step of it: a call's step is the length of the longest such chain ending with it."""
    done = sorted((c for c in calls if c[1] <= until + 1e-6), key=lambda c: c[1])
    step: list[int] = []
    for j, (_, end_j) in enumerate(done):
        start_j = end_j - latency
        step.append(
            1 + max((step[i] for i in range(j) if done[i][1] <= start_j + TIMER_TOLERANCE), default=0)
        )
    depth = max(step, default=0)
    levels = []
    for level in range(1, depth + 1):
        methods = Counter(method for (method, _), s in zip(done, step, strict=True) if s == level)
        names = [f"{m} ×{n}" if n > 1 else m for m, n in methods.items()]
        levels.append(names[0] if len(names) == 1 else "{" + ", ".join(names) + "}")
    return depth, levels


def _room_ready(standin: SlackStandIn, name_part: str, user: str) -> bool:
    for channel in standin.channels.values():
        if name_part in channel.name:
            return user in channel.members and bool(channel.pins)
    return False


async def declare_once(
    hashi: Hashi, *, n: int, user: str, scenario: str, latency: float, severity: str = "SEV2"
) -> Declaration:
    """Declares one incident and measures its way to a ready room."""
    standin = hashi.standin
    calls = standin.calls
    assert isinstance(calls, TimedCalls)
    mark = len(calls)
    title = f"Bench declaration {n}"
    started = time.monotonic()
    sent = await hashi.driver.command(f"declare {severity} {title}", user_id=user, channel_id=GENERAL)
    acked = time.monotonic() - started
    if sent.status != 200:
        raise RuntimeError(f"declare answered {sent.status}: {sent.body}")
    name_part = f"-bench-declaration-{n}"
    while not _room_ready(standin, name_part, user):
        if time.monotonic() - started > 30:
            raise TimeoutError(f"the room of declaration {n} was not ready within 30 s")
        await asyncio.sleep(0.001)
    polled = time.monotonic() - started
    await hashi.settle(quiet=0.3)
    window = [(calls[i].method, calls.ends[i]) for i in range(mark, len(calls))]
    ends = {}
    for method, end in window:
        if method in READY_METHODS:
            ends[method] = max(ends.get(method, 0.0), end)
    ready_at = max(ends.values()) if len(ends) == len(READY_METHODS) else started + polled
    depth, chain = critical_chain(window, latency=latency, until=ready_at)
    return Declaration(
        scenario=scenario,
        ack=acked,
        ready=ready_at - started,
        polled=polled,
        depth=depth,
        chain=chain,
        calls_before_ready=sum(1 for _, end in window if end <= ready_at + 1e-6),
        calls_total=len(window),
    )


async def run(args: argparse.Namespace) -> tuple[list[Declaration], str, int]:
    spec = ApiSpec.load()
    async with (
        scratch_database(args.db, label="declare") as url,
        # Slack's rate limits off: 20 declarations in a row pass Tier 2's 20 channels a minute.
        running_hashi(
            database_url=url, spec=spec, latency=args.latency, rate_limits=False, team=INVITING_TEAM
        ) as hashi,
    ):
        version = await database_version(url)
        hashi.standin.add_usergroup(*ONCALL)
        hashi.standin.calls = TimedCalls(hashi.standin.calls)
        await hashi.runtime.gateway.bot_user_id()  # as `hashi serve` does at start
        results = [
            await declare_once(hashi, n=0, user=ALICE, scenario="first after start", latency=args.latency)
        ]
        for n in range(1, args.repeat + 1):
            results.append(
                await declare_once(
                    hashi, n=n, user=ALICE, scenario="declarer seen before", latency=args.latency
                )
            )
        for n in range(args.repeat + 1, 2 * args.repeat + 1):
            user = f"U0NEW{n:04d}"
            hashi.standin.add_user(user, name=f"new{n}", real_name=f"New Responder {n}", tz="Europe/Paris")
            results.append(
                await declare_once(
                    hashi, n=n, user=user, scenario="declarer not seen before", latency=args.latency
                )
            )
        for n in range(2 * args.repeat + 1, 3 * args.repeat + 1):
            # SEV1 invites a user group, looked up every time (the gateway cache emptied)
            hashi.runtime.gateway._groups.clear()
            results.append(
                await declare_once(
                    hashi,
                    n=n,
                    user=ALICE,
                    scenario="SEV1 inviting a user group",
                    latency=args.latency,
                    severity="SEV1",
                )
            )
        rejections = len(hashi.standin.rejections)
    return results, version, rejections


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the stand-in waits per call")
    parser.add_argument("--repeat", type=int, default=10, help="declarations per scenario")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    results, version, rejections = asyncio.run(run(args))

    print_machine([version])
    print(
        f"declaration critical path: stand-in latency {args.latency * 1000:.0f} ms per Web API call, "
        f"{args.repeat} declarations per scenario (the first after start is one)"
    )
    print(f"target: at most {TARGET_DEPTH} sequential round trips before the room is ready")
    print()
    rows = []
    for scenario in dict.fromkeys(r.scenario for r in results):
        group = [r for r in results if r.scenario == scenario]
        depths = [r.depth for r in group]
        ready = [r.ready for r in group]
        estimate = [r.ready / args.latency for r in group]
        rows.append(
            [
                scenario,
                len(group),
                f"{statistics.median(depths):g} / {max(depths)}",
                f"{statistics.median(estimate):.1f} / {max(estimate):.1f}",
                f"{ms(percentile(ready, 50))} / {ms(max(ready))}",
                ms(percentile([r.ready - r.depth * args.latency for r in group], 50)),
                ms(percentile([r.ack for r in group], 50)),
                f"{statistics.median(r.calls_before_ready for r in group):g}",
                f"{statistics.median(r.calls_total for r in group):g}",
                verdict(max(depths) <= TARGET_DEPTH),
            ]
        )
    print_table(
        [
            "scenario",
            "n",
            "sequential trips p50/max",
            "elapsed/latency p50/max",
            "room ready p50/max",
            "not Slack p50",
            "ack p50",
            "calls by ready",
            "calls in all",
            f"≤ {TARGET_DEPTH}",
        ],
        rows,
    )
    print("critical path, step by step (the slowest declaration of each scenario):")
    for scenario in dict.fromkeys(r.scenario for r in results):
        slowest = max((r for r in results if r.scenario == scenario), key=lambda r: r.ready)
        print(f"  {scenario}: {' → '.join(slowest.chain)}  ({ms(slowest.ready)})")
    print()
    print(
        "room ready = the answer to the last of conversations.create, conversations.invite and pins.add "
        "(a 1 ms poll of the stand-in's state agrees within "
        f"{ms(max(abs(r.polled - r.ready) for r in results))}); not Slack = room ready − trips × latency "
        "(database and CPU time on the path); ack = the HTTP answer to the command; calls in all includes "
        f"the reminders and replies after the room is ready. Spec rejections: {rejections}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
