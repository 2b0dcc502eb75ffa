"""The web dashboard at scale: page latency over 10,000 incidents and for a 10,000-event incident on SQLite.

    .venv/bin/python bench/web_pages.py [--incidents 10000] [--events 40000] [--repeat 15] [--days 365]

Bulk-loads a SQLite database as bench/storage_scale.py does (its `load`: realistic milestones, severities,
services, about 10% private; the newest incident carries 10,000 timeline events), starts the real app with
the dashboard (standin.harness.running_hashi, Sign in with Slack set up against the stand-in), signs
in over HTTP, and times whole HTTP round trips of each page, server rendering included:
- /incidents (the first page of 10,000, open ones first), filtered by severity and by words,
- /incidents/<id> of the 10,000-event incident (timeline, checklists and the rendered postmortem),
- /reliability over 30 and 365 days (compute_stats over the window, each month and each week).
Target (issue 21): every page under 300 ms (p50 and p90 shown).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from _common import REPO_ROOT, ms, percentile, print_machine, print_table, scratch_database, verdict
from storage_scale import load

sys.path.insert(0, str(REPO_ROOT))

from bot.incidents.ports import SystemClock
from bot.settings import TeamConfig
from standin.harness import CAROL, running_hashi
from storage.db import make_engine
from storage.migrate import upgrade
from tests.e2e.signing_in import browser, sign_in

TARGET = 0.300
TEAM = TeamConfig.model_validate(
    {"services": {name: {"slo": 99.9} for name in ("checkout", "payments", "search", "auth", "api")}}
)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print_machine(["sqlite"])
    rows: list[list[object]] = []
    ok = True
    async with scratch_database("sqlite", label="web") as url:
        engine = make_engine(url)
        await upgrade(engine)
        loaded = await load(
            engine, incidents=args.incidents, events=args.events, now=SystemClock().now(), days=args.days
        )
        await engine.dispose()
        big = loaded["big_id"]
        print(
            f"loaded {loaded['incidents']:,} incidents, {loaded['events']:,} events; INC-{big} is the largest"
        )
        async with (
            running_hashi(database_url=url, spec=None, team=TEAM, sign_in=True, rate_limits=False) as hashi,
            browser() as http,
        ):
            await sign_in(http, hashi.base, CAROL)
            async with http.get(f"{hashi.base}/incidents/{big}") as check:
                body = await check.text()
                assert check.status == 200, body[:500]
                shown = body.count('<tr class="kind-')
                print(f"INC-{big}: {shown:,} timeline rows on the page")
            pages = [
                ("incident list, page 1 of 10,000", "/incidents"),
                ("incident list, SEV1 open", "/incidents?severity=SEV1&status=open"),
                ("incident list, words", "/incidents?q=latency"),
                (f"incident page, INC-{big} (10,000 events)", f"/incidents/{big}"),
                (f"incident page, INC-{big}, last timeline page", f"/incidents/{big}?events=50"),
                ("reliability, 30 days", "/reliability?window=30d"),
                ("reliability, 365 days", "/reliability?window=365d"),
            ]
            postmortem = f"/incidents/{big}/postmortem"
            for label, path in pages:
                times = []
                for _ in range(args.repeat + 1):
                    started = time.perf_counter()
                    async with http.get(f"{hashi.base}{path}") as page:
                        await page.read()
                        assert page.status == 200, path
                    times.append(time.perf_counter() - started)
                times = times[1:]  # the first warms the caches (templates, catalogues)
                p50, p90 = statistics.median(times), percentile(times, 90)
                ok &= p90 < TARGET
                rows.append([label, ms(p50), ms(p90), ms(max(times)), verdict(p90 < TARGET)])
            # The whole postmortem draft of the 10,000-event incident (its timeline is all of them): reported,
            # not held to the target (`hashi export` of the same incident is held to one second).
            started = time.perf_counter()
            async with http.get(f"{hashi.base}{postmortem}") as page:
                await page.read()
            rows.append(
                [f"postmortem draft of INC-{big}", ms(time.perf_counter() - started), "", "", "(report)"]
            )
    print_table(["page", "p50", "p90", "max", f"p90 < {ms(TARGET)}"], rows, title="web pages on SQLite")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
