"""How reports write values: times as ISO 8601 UTC, aligned plain-text columns, percentages, CSV numbers, and
names in natural order (SEV2 before SEV10)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime


def iso_utc(dt: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 UTC with a `Z` (`2026-11-24T05:05:00Z`), or None."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError(f"a naive datetime ({dt.isoformat()}) cannot be shown as UTC")
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def align_rows(rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> list[str]:
    """Rows of cells as lines with aligned columns (right-aligned where asked)."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def percent(fraction: float, digits: int) -> str:
    """0.99912 as `99.912%`."""
    return f"{fraction * 100:.{digits}f}%"


def csv_number(value: float | int | None) -> str:
    """A CSV cell: empty for None, else the shortest exact spelling."""
    return "" if value is None else repr(value)


def natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """Sorts SEV2 before SEV10, case-insensitively."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part.lower()) for part in re.split(r"(\d+)", text)
    )
