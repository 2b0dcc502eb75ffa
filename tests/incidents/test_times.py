"""Human time parsing: every form of INTERFACE.md, time zones with and without DST, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.times import (
    ZONE_ABBREVIATIONS,
    TimeParseError,
    format_duration,
    format_local,
    parse_duration,
    parse_time,
    zone,
)

# 2026-11-24 10:00 UTC is 19:00 in Tokyo and 05:00 in New York (EST).
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:05", utc(2026, 11, 24, 5, 5)),
        ("14:05:30", utc(2026, 11, 24, 5, 5, 30)),
        ("9:05", utc(2026, 11, 24, 0, 5)),
        ("14:05 JST", utc(2026, 11, 24, 5, 5)),
        ("14:05 jst", utc(2026, 11, 24, 5, 5)),
        ("14:05JST", utc(2026, 11, 24, 5, 5)),
        ("05:05 UTC", utc(2026, 11, 24, 5, 5)),
        ("05:05Z", utc(2026, 11, 24, 5, 5)),
        ("05:05 GMT", utc(2026, 11, 24, 5, 5)),
        ("14:05 +09:00", utc(2026, 11, 24, 5, 5)),
        ("14:05+0900", utc(2026, 11, 24, 5, 5)),
        ("14:05 UTC+9", utc(2026, 11, 24, 5, 5)),
        ("10:35 +05:30", utc(2026, 11, 24, 5, 5)),
        ("14:05 Asia/Tokyo", utc(2026, 11, 24, 5, 5)),
        ("14:05 asia/tokyo", utc(2026, 11, 24, 5, 5)),
        ("2:05pm", utc(2026, 11, 24, 5, 5)),
        ("2:05 PM", utc(2026, 11, 24, 5, 5)),
        ("12:30am", utc(2026, 11, 23, 15, 30)),
        ("2026-11-24 14:05", utc(2026, 11, 24, 5, 5)),
        ("2026/11/24 14:05", utc(2026, 11, 24, 5, 5)),
        ("2026-11-24 14:05 JST", utc(2026, 11, 24, 5, 5)),
        ("2026-11-24 05:05 UTC", utc(2026, 11, 24, 5, 5)),
        ("2026-11-23 21:05 PST", utc(2026, 11, 24, 5, 5)),
        ("2026-11-24T05:05Z", utc(2026, 11, 24, 5, 5)),
        ("2026-11-24T05:05:00Z", utc(2026, 11, 24, 5, 5)),
        ("2026-11-24T05:05:00.250Z", datetime(2026, 11, 24, 5, 5, 0, 250000, tzinfo=UTC)),
        ("2026-11-24T14:05+09:00", utc(2026, 11, 24, 5, 5)),
        ("2026-11-24T14:05", utc(2026, 11, 24, 5, 5)),
        ("yesterday 23:50", utc(2026, 11, 23, 14, 50)),
        ("today 14:05", utc(2026, 11, 24, 5, 5)),
        ("now", NOW),
        ("NOW", NOW),
        ("10m ago", NOW - timedelta(minutes=10)),
        ("1h30m ago", NOW - timedelta(minutes=90)),
        ("1h 30m ago", NOW - timedelta(minutes=90)),
        ("2h ago", NOW - timedelta(hours=2)),
        ("45s ago", NOW - timedelta(seconds=45)),
        ("1d ago", NOW - timedelta(days=1)),
        ("90 minutes ago", NOW - timedelta(minutes=90)),
        ("1 hour 30 minutes ago", NOW - timedelta(minutes=90)),
        ("1.5h ago", NOW - timedelta(minutes=90)),
        ("  10m   ago ", NOW - timedelta(minutes=10)),
        # Full-width digits and colon, as a Japanese input method types them.
        ("１４：０５", utc(2026, 11, 24, 5, 5)),
        ("２０２６－１１－２４　１４：０５", utc(2026, 11, 24, 5, 5)),
        ("１０ｍ　ａｇｏ", NOW - timedelta(minutes=10)),
    ],
)
def test_parse_time_reads_every_form(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW, tz=TOKYO) == expected


def test_parse_time_returns_utc() -> None:
    parsed = parse_time("14:05 JST", now=NOW, tz=TOKYO)
    assert parsed.tzinfo is UTC


def test_bare_time_is_today_in_the_users_zone() -> None:
    # 05:00 in New York: 04:30 is earlier today there.
    assert parse_time("04:30", now=NOW, tz=NEW_YORK) == utc(2026, 11, 24, 9, 30)


def test_time_with_zone_is_today_in_that_zone() -> None:
    # 19:00 in Tokyo: 18:00 JST is today in Tokyo even though the user's zone is New York.
    assert parse_time("18:00 JST", now=NOW, tz=NEW_YORK) == utc(2026, 11, 24, 9, 0)


def test_future_bare_time_is_refused_with_yesterdays_form() -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_time("23:50", now=NOW, tz=TOKYO)
    assert "future" in str(caught.value)
    assert "2026-11-23 23:50" in str(caught.value)
    assert caught.value.recognized


def test_future_time_with_zone_keeps_the_zone_in_the_suggestion() -> None:
    with pytest.raises(TimeParseError, match="2026-11-23 23:50 JST"):
        parse_time("23:50 JST", now=NOW, tz=UTC_ZONE)


def test_future_date_is_refused_and_shows_now() -> None:
    with pytest.raises(TimeParseError, match=r"future.*2026-11-24 19:00 JST"):
        parse_time("2026-12-01 10:00", now=NOW, tz=TOKYO)


def test_small_clock_skew_is_clamped_to_now() -> None:
    # 30 seconds ahead of this host's clock is skew, not the future.
    now = utc(2026, 11, 24, 5, 4, 30)
    assert parse_time("14:05 JST", now=now, tz=TOKYO) == now
    with pytest.raises(TimeParseError, match="future"):
        parse_time("14:06 JST", now=now, tz=TOKYO)


def test_time_before_declaration_and_long_ago_is_accepted() -> None:
    assert parse_time("2025-01-02 03:04 UTC", now=NOW, tz=TOKYO) == utc(2025, 1, 2, 3, 4)


def test_time_before_1970_is_refused() -> None:
    with pytest.raises(TimeParseError, match="1970"):
        parse_time("1969-12-31 23:00 UTC", now=NOW, tz=TOKYO)
    with pytest.raises(TimeParseError, match="1970"):
        parse_time("99999999999d ago", now=NOW, tz=TOKYO)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "yesterday",
        "tomorrow 10:00",
        "14",
        "1405",
        "14:5",
        "25:00",
        "14:60",
        "13pm",
        "0am",
        "14:05 XYZ",
        "14:05 Mars/Olympus",
        "14:05 +15:00",
        "14:05 +09:75",
        "2026-02-30 10:00",
        "2026-13-01 10:00",
        "2026-11-24",
        "10 ago",
        "ago",
        "10 months ago",
        "in 10m",
        "-10m ago",
        "10m from now",
        "next tuesday",
        "Nov 24 14:05",
        "2026-11-24 14:05 JST extra",
        "１４：０５ ＸＹＺ",
    ],
)
def test_parse_time_refuses_bad_input(text: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_time(text, now=NOW, tz=TOKYO)
    message = str(caught.value)
    assert "Accepted forms: 14:05, 14:05 JST" in message
    assert "1h30m ago" in message


def test_error_names_the_unknown_zone() -> None:
    with pytest.raises(TimeParseError, match='"xyz" is not a time zone') as caught:
        parse_time("14:05 xyz", now=NOW, tz=TOKYO)
    # An unknown zone may be the next word of a note, not a time: not "recognized".
    assert not caught.value.recognized


def test_date_without_time_says_to_add_one() -> None:
    with pytest.raises(TimeParseError, match="no time of day"):
        parse_time("2026-11-24", now=NOW, tz=TOKYO)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_time("14:05", now=datetime(2026, 11, 24, 10, 0), tz=TOKYO)  # noqa: DTZ001


class TestDaylightSaving:
    """New York springs forward on 2026-03-08 (02:00 → 03:00) and falls back on 2026-11-01 (02:00 → 01:00)."""

    def test_summer_and_winter_offsets(self) -> None:
        assert parse_time("2026-07-01 12:00", now=NOW, tz=NEW_YORK) == utc(2026, 7, 1, 16, 0)
        assert parse_time("2026-01-15 12:00", now=NOW, tz=NEW_YORK) == utc(2026, 1, 15, 17, 0)

    def test_abbreviation_means_the_regions_clock(self) -> None:
        # `EST` written in July still means New York's wall clock (EDT then).
        assert parse_time("2026-07-01 12:00 EST", now=NOW, tz=TOKYO) == utc(2026, 7, 1, 16, 0)
        assert parse_time("2026-07-01 12:00 PDT", now=NOW, tz=TOKYO) == utc(2026, 7, 1, 19, 0)
        assert parse_time("2026-07-01 12:00 BST", now=NOW, tz=TOKYO) == utc(2026, 7, 1, 11, 0)
        assert parse_time("2026-07-01 12:00 CEST", now=NOW, tz=TOKYO) == utc(2026, 7, 1, 10, 0)
        assert parse_time("2026-01-15 12:00 AEDT", now=NOW, tz=TOKYO) == utc(2026, 1, 15, 1, 0)

    def test_skipped_wall_time_is_refused(self) -> None:
        with pytest.raises(TimeParseError, match="does not exist") as caught:
            parse_time("2026-03-08 02:30", now=NOW, tz=NEW_YORK)
        assert caught.value.recognized

    def test_repeated_wall_time_takes_the_first(self) -> None:
        assert parse_time("2026-11-01 01:30", now=NOW, tz=NEW_YORK) == utc(2026, 11, 1, 5, 30)

    def test_bare_time_on_the_day_after_a_change(self) -> None:
        now = utc(2026, 3, 8, 20, 0)  # 16:00 EDT
        assert parse_time("01:30", now=now, tz=NEW_YORK) == utc(2026, 3, 8, 6, 30)
        assert parse_time("15:00", now=now, tz=NEW_YORK) == utc(2026, 3, 8, 19, 0)


def test_every_abbreviation_names_a_zone() -> None:
    for abbreviation, name in ZONE_ABBREVIATIONS.items():
        assert zone(name).key == name, abbreviation


def test_cst_is_us_central() -> None:
    assert parse_time("2026-11-23 23:05 CST", now=NOW, tz=TOKYO) == utc(2026, 11, 24, 5, 5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12w", timedelta(weeks=12)),
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("2 weeks", timedelta(weeks=2)),
        ("90 minutes", timedelta(minutes=90)),
        ("30D", timedelta(days=30)),
        ("３０ｄ", timedelta(days=30)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "30", "d", "30x", "30 days ago", "-5d", "0m", "0d0h", "1e3d", "99999w", "30d garbage", "1 month"],
)
def test_parse_duration_refuses_bad_input(text: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_duration(text)
    assert "Accepted forms: 30d, 12w" in str(caught.value)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, "—"),
        (0, "0s"),
        (45, "45s"),
        (59.9, "59s"),
        (60, "1m"),
        (720, "12m"),
        (3599, "59m"),
        (3600, "1h 00m"),
        (3900, "1h 05m"),
        (86399, "23h 59m"),
        (86400, "1d 00h"),
        (183600, "2d 03h"),
        (-45, "-45s"),
        (-3900, "-1h 05m"),
        (-0.2, "0s"),
        (float("nan"), "—"),
        (float("inf"), "—"),
    ],
)
def test_format_duration(seconds: float | None, expected: str) -> None:
    assert format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Asia/Tokyo", "Asia/Tokyo"),
        ("America/New_York", "America/New_York"),
        ("JST", "Asia/Tokyo"),
        (" Asia/Tokyo ", "Asia/Tokyo"),
        (None, "UTC"),
        ("", "UTC"),
        ("Not/AZone", "UTC"),
        ("../../etc/passwd", "UTC"),
        ("Asia", "UTC"),
        ("Asia/Tokyo\x00", "UTC"),
        ("x" * 500, "UTC"),
    ],
)
def test_zone_never_raises(name: str | None, expected: str) -> None:
    assert zone(name).key == expected


def test_zone_falls_back_to_the_default_then_utc() -> None:
    assert zone("nonsense", default="Asia/Tokyo").key == "Asia/Tokyo"
    assert zone("nonsense", default="also nonsense").key == "UTC"


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("Asia/Tokyo", "2026-11-24 19:00 JST"),
        ("UTC", "2026-11-24 10:00 UTC"),
        ("America/New_York", "2026-11-24 05:00 EST"),
        ("Asia/Kolkata", "2026-11-24 15:30 IST"),
        # These zones have no letter abbreviation in tzdata (`-03`, `+0545`).
        ("America/Sao_Paulo", "2026-11-24 07:00 UTC-03:00"),
        ("Asia/Kathmandu", "2026-11-24 15:45 UTC+05:45"),
    ],
)
def test_format_local(tz: str, expected: str) -> None:
    assert format_local(NOW, ZoneInfo(tz)) == expected


def test_format_local_shows_summer_time() -> None:
    assert format_local(utc(2026, 7, 1, 16, 0), NEW_YORK) == "2026-07-01 12:00 EDT"


def test_format_local_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_local(datetime(2026, 11, 24, 10, 0), TOKYO)  # noqa: DTZ001


def test_format_local_round_trips_through_parse_time() -> None:
    shown = format_local(utc(2026, 11, 24, 5, 5), TOKYO)
    assert parse_time(shown, now=NOW, tz=UTC_ZONE) == utc(2026, 11, 24, 5, 5)


@given(st.text(max_size=60))
def test_parse_time_raises_only_time_parse_error(text: str) -> None:
    try:
        parsed = parse_time(text, now=NOW, tz=TOKYO)
    except TimeParseError as exc:
        assert str(exc)
    else:
        assert parsed.tzinfo is UTC
        assert parsed <= NOW


_TIMEY = st.text(alphabet="0123456789:-+/ TZtzapmAPMhdswago JSTUCnowyesterday１２：", max_size=30)


@given(_TIMEY)
def test_time_like_text_raises_only_time_parse_error(text: str) -> None:
    try:
        parsed = parse_time(text, now=NOW, tz=NEW_YORK)
    except TimeParseError:
        return
    assert parsed.tzinfo is UTC
    assert parsed <= NOW


@given(st.text(alphabet="0123456789.hmsdw ", max_size=20))
def test_parse_duration_raises_only_time_parse_error(text: str) -> None:
    try:
        parsed = parse_duration(text)
    except TimeParseError:
        return
    assert parsed > timedelta(0)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.none())
def test_format_duration_never_raises(seconds: float | None) -> None:
    assert format_duration(seconds)


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),  # noqa: DTZ001
        max_value=datetime(9998, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
)
def test_format_local_then_parse_time_is_the_same_minute(moment: datetime) -> None:
    # Through Tokyo, which has had no DST since 1951, so every wall time is unambiguous.
    now = datetime(9999, 1, 1, tzinfo=UTC)
    shown = format_local(moment, TOKYO)
    assert parse_time(shown, now=now, tz=UTC_ZONE) == moment.replace(second=0, microsecond=0)
