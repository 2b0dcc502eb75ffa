"""Trends: recovery-time metrics per calendar week, month or quarter of a window (`hashi stats --every`)."""

from __future__ import annotations

import csv
import io
import json
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import DEFAULT_LANG, Lang, t
from bot.incidents.times import format_duration, format_local
from bot.incidents.windows import Period, periods
from bot.reports.formatting import align_rows, csv_number, iso_utc, percent
from bot.reports.metrics import Distribution
from bot.reports.slo import ServiceAvailability
from bot.reports.stats import compute_stats
from readmodel.milestones import unix_micros
from readmodel.stats import StatsRow

# The two durations a trend follows per period: how fast someone answered, and how fast it was over.
TREND_METRICS = ("time_to_acknowledge", "time_to_resolve")
_SERVICE_MEASURES = ("availability", "error_budget_used")
_SERVICE_COLUMNS = ("availability", "budget")


@dataclass(frozen=True)
class TrendRow:
    """One period of a trend: its incidents, two distributions, and each SLO service's availability."""

    name: str
    since: datetime
    until: datetime
    count: int
    metrics: tuple[tuple[str, Distribution], ...]
    services: tuple[ServiceAvailability, ...]


@dataclass(frozen=True)
class Trend:
    """A window cut into periods."""

    every: Period
    since: datetime
    until: datetime
    rows: tuple[TrendRow, ...]


def compute_trend(
    rows: Sequence[StatsRow],
    *,
    since: datetime,
    until: datetime,
    every: Period,
    tz: ZoneInfo,
    slos: Mapping[str, float],
    now: datetime,
) -> Trend:
    """One row per calendar period (in `tz`) of [since, until): incidents that started in it, the p50/p90
    times to acknowledge and resolve, and availability and error budget used per service with an SLO."""
    # Each period reads the incidents that started in it (found by bisection over their starts) and, for
    # availability, the ones that started before it and may still hurt a service with an SLO inside it;
    # the others cannot change its figures, and reading every incident for every week of ten years would.
    dated = sorted((began, index) for index, row in enumerate(rows) if (began := row.start_us) is not None)
    starts = [start for start, _ in dated]
    on_slo = {
        text: any(s in slos for s in json.loads(text or "[]")) for text in {row.services for row in rows}
    }
    lasting = [
        (start, rows[index].impact_end_us, index) for start, index in dated if on_slo[rows[index].services]
    ]
    trend = []
    for name, start, end in periods(since, until, every, tz):
        start_us, end_us = unix_micros(start), unix_micros(end)
        chosen = {index for _, index in dated[bisect_left(starts, start_us) : bisect_left(starts, end_us)]}
        chosen |= {
            index
            for began, ended, index in lasting
            if began < start_us and (ended is None or ended > start_us)
        }
        period = [rows[index] for index in sorted(chosen)]
        report = compute_stats(period, since=start, until=end, by=None, slos=slos, now=now)
        (group,) = report.groups
        trend.append(
            TrendRow(
                name=name,
                since=start,
                until=end,
                count=report.count,
                metrics=tuple((metric, group.metric(metric)) for metric in TREND_METRICS),
                services=report.services,
            )
        )
    return Trend(every=every, since=since, until=until, rows=tuple(trend))


def trend_json(trend: Trend) -> dict[str, object]:
    """The `hashi stats --every … --format json` object."""
    return {
        "window": {"since": iso_utc(trend.since), "until": iso_utc(trend.until)},
        "every": trend.every,
        "periods": [
            {
                "period": row.name,
                "since": iso_utc(row.since),
                "until": iso_utc(row.until),
                "count": row.count,
                **{metric: {"p50": d.p50, "p90": d.p90} for metric, d in row.metrics},
                "services": {
                    s.service: {"availability": s.availability, "error_budget_used": s.error_budget_used}
                    for s in row.services
                },
            }
            for row in trend.rows
        ],
    }


def trend_csv(trend: Trend) -> str:
    """One CSV line per period: `period,since,until,count`, p50/p90 of each metric in seconds, then each SLO
    service's availability and error budget used (fractions)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    services = [s.service for s in trend.rows[0].services] if trend.rows else []
    writer.writerow(
        [
            "period",
            "since",
            "until",
            "count",
            *(f"{metric}_{q}" for metric in TREND_METRICS for q in ("p50", "p90")),
            *(
                f"{service}:{measure}"
                for service in services
                for measure in ("availability", "error_budget_used")
            ),
        ]
    )
    for row in trend.rows:
        writer.writerow(
            [
                row.name,
                iso_utc(row.since),
                iso_utc(row.until),
                row.count,
                *(csv_number(value) for _, d in row.metrics for value in (d.p50, d.p90)),
                *(csv_number(value) for s in row.services for value in (s.availability, s.error_budget_used)),
            ]
        )
    return out.getvalue()


def trend_table(trend: Trend, tz: ZoneInfo, lang: Lang = DEFAULT_LANG) -> str:
    """The trend as aligned plain text, one line per period."""
    heading = t(
        f"stats.trend.heading_{trend.every}",
        lang,
        since=format_local(trend.since, tz, lang),
        until=format_local(trend.until, tz, lang),
    )
    services = [s.service for s in trend.rows[0].services] if trend.rows else []
    header = [
        t("stats.trend.period", lang),
        t("stats.column.incidents", lang),
        *(t(f"stats.trend.{metric}_{q}", lang) for metric in TREND_METRICS for q in ("p50", "p90")),
        *(
            t(f"stats.trend.{measure}", lang, service=s)
            for s in services
            for measure in ("availability", "budget")
        ),
    ]
    lines = [header]
    for row in trend.rows:
        lines.append(
            [
                row.name,
                str(row.count),
                *(format_duration(value, lang) for _, d in row.metrics for value in (d.p50, d.p90)),
                *(
                    cell
                    for s in row.services
                    for cell in (percent(s.availability, 4), percent(s.error_budget_used, 1))
                ),
            ]
        )
    return "\n".join([heading, "", *align_rows(lines, right=frozenset(range(1, len(header))))]) + "\n"
