"""The postmortem's Mermaid gantt chart, drawn on the server as SVG.

The draft (bot/reports/postmortem_timeline.py) writes a small, fixed subset of Mermaid's gantt syntax: a
`title`, a `dateFormat YYYY-MM-DD HH:mm:ss`, `section` lines and bars `label :[crit, |active, ]start, end`.
This reads exactly that subset and draws it, so the page needs no Mermaid script; anything else is left as
code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

WIDTH = 720
ROW = 22
LEFT = 200
TOP = 30
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class GanttBar:
    """One bar: its section, label, kind (`crit`, `active` or ``) and wall-clock start and end."""

    section: str
    label: str
    kind: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Gantt:
    """A parsed chart."""

    title: str
    bars: tuple[GanttBar, ...]


def parse_gantt(source: str) -> Gantt | None:
    """The chart of a Mermaid gantt in Hashi's subset, or None when the text is something else."""
    lines = [line.strip() for line in source.strip().splitlines()]
    if not lines or lines[0] != "gantt":
        return None
    title, section, bars = "", "", []
    for line in lines[1:]:
        if not line or line.startswith(("dateFormat", "axisFormat")):
            continue
        if line.startswith("title "):
            title = line.removeprefix("title ")
        elif line.startswith("section "):
            section = line.removeprefix("section ")
        elif " :" in line:
            label, _, spec = line.rpartition(" :")
            fields = [f.strip() for f in spec.split(",")]
            kind = fields[0] if len(fields) == 3 and fields[0] in ("crit", "active") else ""
            try:
                start, end = (datetime.strptime(f, TIME_FORMAT) for f in fields[-2:])  # noqa: DTZ007
            except ValueError:
                return None
            bars.append(GanttBar(section=section, label=label.strip(), kind=kind, start=start, end=end))
        else:
            return None
    return Gantt(title=title, bars=tuple(bars)) if bars else None


def gantt_svg(chart: Gantt) -> str:
    """The chart as SVG: one row per bar, section names over their rows, a time axis in the draft's zone."""
    first = min(b.start for b in chart.bars)
    last = max(b.end for b in chart.bars)
    span = (last - first).total_seconds() or 1.0
    plot = WIDTH - LEFT - 20
    rows: list[str] = []
    y = TOP
    section = None
    for bar in chart.bars:
        if bar.section != section:
            section = bar.section
            rows.append(f'<text class="section" x="4" y="{y + 15}">{escape(section)}</text>')
            y += ROW
        x = LEFT + plot * (bar.start - first).total_seconds() / span
        w = max(2.0, plot * (bar.end - bar.start).total_seconds() / span)
        rows.append(
            f'<text class="label" x="{LEFT - 6}" y="{y + 15}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect class="bar {bar.kind or "plain"}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
            f'height="{ROW - 6}"><title>{escape(bar.label)}: {bar.start:%m-%d %H:%M} – {bar.end:%m-%d %H:%M}'
            "</title></rect>"
        )
        y += ROW
    for i in range(5):
        tick = first + (last - first) * i / 4
        x = LEFT + plot * i / 4
        rows.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4}" y2="{y}"/>'
            f'<text class="axis" x="{x:.1f}" y="{y + 16}" text-anchor="middle">{tick:%m-%d %H:%M}</text>'
        )
    height = y + 26
    return (
        f'<svg class="chart gantt" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(chart.title)}</title>'
        f'<text class="title" x="{WIDTH / 2}" y="18" text-anchor="middle">{escape(chart.title)}</text>'
        f"{''.join(rows)}</svg>"
    )
