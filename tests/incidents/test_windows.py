"""Stats windows as people write them, and the calendar periods of a trend."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.incidents.times import EARLIEST, TimeParseError
from bot.incidents.windows import Window, parse_window, periods

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
TOKYO = ZoneInfo("Asia/Tokyo")


def test_a_duration_has_no_upper_bound_on_its_length() -> None:
    window = parse_window("5000d", now=NOW, tz=TOKYO)
    assert window == Window(span=timedelta(days=5000))
    assert window.bounds(now=NOW) == (NOW - timedelta(days=5000), NOW)
    # Longer than the time since 1970: it reaches back to 1970.
    assert parse_window("99999w", now=NOW, tz=TOKYO).bounds(now=NOW) == (EARLIEST, NOW)


def test_dates_are_midnights_in_the_zone_and_a_range_is_half_open() -> None:
    window = parse_window("2026-07-01..2026-10-01", now=NOW, tz=TOKYO)
    assert window.bounds(now=NOW) == (
        datetime(2026, 6, 30, 15, 0, tzinfo=UTC),
        datetime(2026, 9, 30, 15, 0, tzinfo=UTC),
    )
    assert parse_window("2026-07-01", "2026-10-01", now=NOW, tz=TOKYO) == window
    # A time, with --until as a separate argument.
    window = parse_window("2026-07-01T09:00Z", "2026-07-02 09:00", now=NOW, tz=TOKYO)
    assert window.bounds(now=NOW) == (
        datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        datetime(2026, 7, 2, 0, 0, tzinfo=UTC),
    )


def test_a_span_before_an_end_and_an_end_past_now() -> None:
    window = parse_window("30d", "2026-10-01", now=NOW, tz=TOKYO)
    end = datetime(2026, 9, 30, 15, 0, tzinfo=UTC)
    assert window.bounds(now=NOW) == (end - timedelta(days=30), end)
    # The quarter under way ends now.
    assert parse_window("2026-10-01..2027-01-01", now=NOW, tz=TOKYO).bounds(now=NOW)[1] == NOW


def test_all_starts_at_the_first_incident() -> None:
    window = parse_window("all", now=NOW, tz=TOKYO)
    assert window.from_first
    first = datetime(2016, 3, 1, tzinfo=UTC)
    assert window.bounds(now=NOW, first=first) == (first, NOW)
    assert window.bounds(now=NOW, first=None) == (EARLIEST, NOW)


@pytest.mark.parametrize(
    ("since", "until", "fragment"),
    [
        ("2026-10-01..2026-07-01", None, "ends (2026-07-01 00:00 JST) before it starts (2026-10-01"),
        ("2026-10-01", "2026-10-01", "before it starts"),
        ("2026-07-01..", None, "lacks one end"),
        ("..2026-07-01", None, "lacks one end"),
        ("2026-07-01..2026-08-01", "2026-09-01", "once"),
        ("2026-13-01", None, "not a date in the calendar"),
        ("soon", None, "could not read"),
        ("10x", None, "could not read"),
        ("0d", None, "longer than zero"),
    ],
)
def test_bad_windows_are_refused_with_the_forms(since: str, until: str | None, fragment: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_window(since, until, now=NOW, tz=TOKYO)
    assert fragment in str(caught.value)
    assert "2026-07-01..2026-10-01" in str(caught.value)


def test_a_window_in_the_future_is_refused_when_bounded() -> None:
    window = parse_window("2027-01-01", now=NOW, tz=TOKYO)
    with pytest.raises(TimeParseError, match="starts in the future"):
        window.bounds(now=NOW)


def test_periods_are_calendar_weeks_months_and_quarters_in_the_zone_cut_to_the_window() -> None:
    since, until = datetime(2026, 7, 15, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)
    quarters = list(periods(since, until, "quarter", TOKYO))
    assert [name for name, _, _ in quarters] == ["2026-Q3", "2026-Q4"]
    assert quarters[0][1] == since and quarters[0][2] == datetime(2026, 9, 30, 15, tzinfo=UTC)
    assert quarters[-1][2] == until
    months = list(periods(since, until, "month", TOKYO))
    assert [name for name, _, _ in months] == ["2026-07", "2026-08", "2026-09", "2026-10"]
    weeks = list(periods(since, until, "week", TOKYO))
    assert weeks[0][0] == "2026-W29" and len(weeks) == 12
    # Contiguous: each period starts where the one before ended, Mondays at 00:00 in Tokyo.
    for (_, _, end), (_, start, _) in itertools.pairwise(weeks):
        assert end == start and start.astimezone(TOKYO).weekday() == 0
        assert start.astimezone(TOKYO).hour == 0
