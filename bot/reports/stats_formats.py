"""The stats report in `hashi stats`' three formats: an aligned table, the JSON object and the CSV table of
INTERFACE.md."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from bot.i18n import DEFAULT_LANG, Lang, t
from bot.incidents.times import format_duration, format_local
from bot.reports.formatting import align_rows, csv_number, iso_utc, percent
from bot.reports.metrics import metric_label
from bot.reports.stats import ALL_GROUP, FIELD_GROUPING, NO_SERVICE_GROUP, NO_VALUE_GROUP, Flag, StatsReport

_UTC_ZONE = ZoneInfo("UTC")
# The table lists at most this many incident ids per flag; JSON and CSV list them all.
_TABLE_IDS = 10


def stats_json(report: StatsReport) -> dict[str, object]:
    """The `hashi stats --format json` object of INTERFACE.md."""
    return {
        "window": {"since": iso_utc(report.since), "until": iso_utc(report.until)},
        "by": report.by,
        "count": report.count,
        "groups": {
            group.name: {
                "count": group.count,
                **{name: dist.as_dict() for name, dist in group.metrics},
                "time_at_severity": dict(group.time_at_severity),
            }
            for group in report.groups
        },
        "services": {
            s.service: {
                "slo": s.slo,
                "availability": s.availability,
                "error_budget_used": s.error_budget_used,
                "impact_seconds": s.impact_seconds,
                "error_budget_seconds": s.error_budget_seconds,
                "incidents": s.incidents,
            }
            for s in report.services
        },
        "flags": {
            flag.name: {
                "count": flag.count,
                "private": flag.private_count,
                "incidents": list(flag.incident_ids),
            }
            for flag in report.flags
        },
    }


def _slo_text(slo: float) -> str:
    """0.999 as `99.9%`."""
    return f"{slo * 100:.4f}".rstrip("0").rstrip(".") + "%"


def _flag_ids(flag: Flag, lang: Lang) -> str:
    """The listed ids of a flag, shortened for the table."""
    shown = [f"INC-{i}" for i in flag.incident_ids[:_TABLE_IDS]]
    more = len(flag.incident_ids) - len(shown)
    if more:
        shown.append(t("stats.more", lang, count=more))
    if flag.private_count:
        shown.append(t("stats.private", lang, count=flag.private_count))
    return t("list.separator", lang).join(shown)


def _group_name(name: str, lang: Lang) -> str:
    if name == ALL_GROUP:
        return t("stats.all", lang)
    if name == NO_VALUE_GROUP:
        return t("stats.no_value", lang)
    return t("stats.no_service", lang) if name == NO_SERVICE_GROUP else name


def stats_table(report: StatsReport, lang: Lang = DEFAULT_LANG) -> str:
    """The report as aligned plain text: distributions first (means alone mislead), durations readable."""
    since, until = format_local(report.since, _UTC_ZONE, lang), format_local(report.until, _UTC_ZONE, lang)
    if report.by and report.by.startswith(FIELD_GROUPING):
        heading = t(
            "stats.window_by_field",
            lang,
            since=since,
            until=until,
            count=report.count,
            field=report.by.removeprefix(FIELD_GROUPING),
        )
    else:
        key = f"stats.window_by_{report.by}" if report.by else "stats.window"
        heading = t(key, lang, since=since, until=until, count=report.count)
    lines = [heading, ""]
    if not report.groups:
        lines += ["  " + t("stats.empty", lang), ""]

    def took(seconds: float | None) -> str:
        return format_duration(seconds, lang)

    for group in report.groups:
        lines.append(t("stats.group", lang, name=_group_name(group.name, lang), count=group.count))
        rows = [[t(f"stats.column.{c}", lang) for c in ("metric", "n", "p50", "p90", "max", "mean")]]
        for name, dist in group.metrics:
            rows.append(
                [
                    metric_label(name, lang),
                    str(dist.count),
                    took(dist.p50),
                    took(dist.p90),
                    took(dist.max),
                    took(dist.mean),
                ]
            )
        lines += align_rows(rows, right=frozenset({1, 2, 3, 4, 5}))
        if group.time_at_severity:
            spent = t("list.separator", lang).join(f"{code} {took(s)}" for code, s in group.time_at_severity)
            lines.append("  " + t("stats.time_at_severity", lang, spent=spent))
        lines.append("")
    if report.services:
        lines.append(t("stats.services", lang))
        columns = ("service", "slo", "availability", "budget_used", "impact", "budget", "incidents")
        rows = [[t(f"stats.column.{c}", lang) for c in columns]]
        for s in report.services:
            rows.append(
                [
                    s.service,
                    _slo_text(s.slo),
                    percent(s.availability, 4),
                    percent(s.error_budget_used, 1),
                    took(s.impact_seconds),
                    took(s.error_budget_seconds),
                    str(s.incidents),
                ]
            )
        lines += align_rows(rows, right=frozenset({1, 2, 3, 4, 5, 6}))
        lines.append("")
    lines.append(t("stats.data_quality", lang))
    rows = [[t(f"stats.flag.{f.name}", lang), str(f.count), _flag_ids(f, lang)] for f in report.flags]
    lines += align_rows(rows, right=frozenset({1}))
    return "\n".join(lines) + "\n"


def stats_csv(report: StatsReport) -> str:
    """The report as one long CSV table (`scope,name,measure,count,p50,p90,max,mean,value`), seconds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", "name", "measure", "count", "p50", "p90", "max", "mean", "value"])
    writer.writerow(["window", "", "since", "", "", "", "", "", iso_utc(report.since)])
    writer.writerow(["window", "", "until", "", "", "", "", "", iso_utc(report.until)])
    for group in report.groups:
        writer.writerow(["group", group.name, "incidents", "", "", "", "", "", group.count])
        for name, d in group.metrics:
            writer.writerow(
                ["group", group.name, name, d.count, *map(csv_number, (d.p50, d.p90, d.max, d.mean)), ""]
            )
        for code, seconds in group.time_at_severity:
            writer.writerow(
                ["group", group.name, f"time_at_severity:{code}", "", "", "", "", "", repr(seconds)]
            )
    for s in report.services:
        for measure, value in (
            ("slo", s.slo),
            ("availability", s.availability),
            ("error_budget_used", s.error_budget_used),
            ("impact_seconds", s.impact_seconds),
            ("error_budget_seconds", s.error_budget_seconds),
            ("incidents", s.incidents),
        ):
            writer.writerow(["service", s.service, measure, "", "", "", "", "", csv_number(value)])
    for flag in report.flags:
        ids = " ".join(str(i) for i in flag.incident_ids)
        writer.writerow(["flag", flag.name, "incidents", flag.count, "", "", "", "", ids])
    return out.getvalue()
