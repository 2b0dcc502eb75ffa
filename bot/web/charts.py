"""Charts drawn on the server as SVG: nothing to load in the browser, no script, text escaped.

Each function takes plain numbers and labels and returns the SVG markup; colours come from classes in
static/hashi.css (`series-0` …), so the page's Content-Security-Policy needs no inline style.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
ROW = 26  # height of one bar row
LEFT = 180  # room for the labels left of the bars
BOTTOM = 28  # room for the axis under the plot
TOP = 10


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its label, its value, and a target line (an SLO) if it has one."""

    label: str
    value: float
    target: float | None = None
    note: str = ""


def _svg(height: int, body: str, title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


# Round steps for an axis of durations in seconds: seconds, minutes, hours, days, weeks.
DURATION_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
WEEK = 604800


def nice_step(top: float, *, durations: bool = False) -> float:
    """The smallest round step of which four reach `top`, and at least 1: 1, 2 or 5 × 10ⁿ for counts (so a
    count's axis shows whole numbers, each once), or a round duration (`DURATION_STEPS`, then weeks)."""
    wanted = top / 4
    if durations:
        for seconds in DURATION_STEPS:
            if seconds >= wanted:
                return float(seconds)
        return float(WEEK * math.ceil(wanted / WEEK))
    step = 1.0
    while step < wanted:
        for factor in (2, 5, 10):
            if step * factor >= wanted or factor == 10:
                step *= factor
                break
    return step


def horizontal_bars(
    bars: Sequence[Bar], *, title: str, low: float, high: float, shown: Callable[[float], str]
) -> str:
    """Bars from `low` to `high` (availability from 99% to 100%, a budget from 0 to 1), each with its
    value written beside it and its target drawn as a line."""
    plot = WIDTH - LEFT - 90
    height = TOP + ROW * max(1, len(bars)) + BOTTOM
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return LEFT + plot * min(1.0, max(0.0, (value - low) / span))

    parts: list[str] = []
    for i, bar in enumerate(bars):
        y = TOP + i * ROW
        parts.append(
            f'<text class="label" x="{LEFT - 8}" y="{y + 17}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect class="{"bad" if bar.target is not None and bar.value < bar.target else "good"}" '
            f'x="{LEFT}" y="{y + 4}" width="{x(bar.value) - LEFT:.1f}" height="{ROW - 8}"/>'
            f'<text class="value" x="{x(bar.value) + 6:.1f}" y="{y + 17}">'
            f"{escape(shown(bar.value))}{escape(bar.note)}</text>"
        )
        if bar.target is not None:
            parts.append(
                f'<line class="target" x1="{x(bar.target):.1f}" x2="{x(bar.target):.1f}" '
                f'y1="{y + 1}" y2="{y + ROW - 1}"/>'
            )
    base = TOP + ROW * max(1, len(bars))
    for i in range(5):
        value = low + span * i / 4
        parts.append(
            f'<text class="axis" x="{x(value):.1f}" y="{base + 18}" text-anchor="middle">'
            f"{escape(shown(value))}</text>"
        )
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT + plot}" y1="{base}" y2="{base}"/>')
    return _svg(height, "".join(parts), title)


def column_groups(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    shown: Callable[[float], str],
    stacked: bool = False,
    durations: bool = False,
) -> str:
    """Columns per category, one per series side by side (p50 and p90 per month), or stacked (incidents
    per week by severity); a legend names the series. A missing value (None) draws nothing. The axis has
    four round steps (`nice_step`: whole numbers, or round `durations` in seconds)."""
    height = 240
    plot_h = height - TOP - BOTTOM - 24
    left = 60
    plot_w = WIDTH - left - 10
    n = max(1, len(categories))
    if stacked:
        top = max(
            (sum(v or 0 for v in values) for values in zip(*(s[1] for s in series), strict=True)), default=0
        )
    else:
        top = max((v or 0 for _, values in series for v in values), default=0)
    ceiling = 4 * nice_step(float(top), durations=durations)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / ceiling)

    parts: list[str] = []
    for i in range(5):
        value = ceiling * i / 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{escape(shown(value))}</text>"
        )
    slot = plot_w / n
    width = slot * 0.7 / (1 if stacked else max(1, len(series)))
    for c, category in enumerate(categories):
        x0 = left + slot * c + slot * 0.15
        base = 0.0
        for s, (name, values) in enumerate(series):
            amount = values[c]
            if amount is None or amount <= 0:
                continue
            x = x0 if stacked else x0 + width * s
            bottom, top_value = (base, base + amount) if stacked else (0.0, amount)
            parts.append(
                f'<rect class="series-{s}" x="{x:.1f}" y="{y(top_value):.1f}" width="{width:.1f}" '
                f'height="{y(bottom) - y(top_value):.1f}"><title>{escape(category)} · {escape(name)}: '
                f"{escape(shown(amount))}</title></rect>"
            )
            if stacked:
                base += amount
        parts.append(
            f'<text class="axis" x="{left + slot * (c + 0.5):.1f}" y="{TOP + plot_h + 16}" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    legend_y = height - 8
    for s, (name, _) in enumerate(series):
        x = left + s * 120
        parts.append(
            f'<rect class="series-{s}" x="{x}" y="{legend_y - 10}" width="12" height="12"/>'
            f'<text class="label" x="{x + 16}" y="{legend_y}">{escape(name)}</text>'
        )
    return _svg(height, "".join(parts), title)
