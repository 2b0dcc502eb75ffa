"""Human time parsing and display: `14:05 JST`, `2026-11-24 14:05`, `10m ago`, durations, time zones."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from bot.i18n import DEFAULT_LANG, Lang, Msg, t

TIME_FORMS = "14:05, 14:05 JST, 2:05pm, 2026-11-24 14:05, 2026-11-24T05:05Z, 10m ago, 1h30m ago, now"
DURATION_FORMS = "30d, 12w, 24h, 90m, 1h30m"
# Clocks disagree a little; a time up to this far ahead is taken as "now" instead of refused.
CLOCK_SKEW = timedelta(seconds=60)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
MAX_DURATION = timedelta(days=3660)

# Abbreviations name the region's clock, not a fixed offset: `14:05 EST` in July means 14:05 in New York
# (people write EST all year). CST is US Central (for China write `14:05 Asia/Shanghai` or `+08:00`);
# IST is India, BST is British Summer Time.
ZONE_ABBREVIATIONS: dict[str, str] = {
    "UTC": "UTC",
    "GMT": "UTC",
    "Z": "UTC",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "HKT": "Asia/Hong_Kong",
    "SGT": "Asia/Singapore",
    "PHT": "Asia/Manila",
    "ICT": "Asia/Bangkok",
    "WIB": "Asia/Jakarta",
    "IST": "Asia/Kolkata",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "ACST": "Australia/Adelaide",
    "ACDT": "Australia/Adelaide",
    "AWST": "Australia/Perth",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
    "WET": "Europe/Lisbon",
    "WEST": "Europe/Lisbon",
    "BST": "Europe/London",
    "CET": "Europe/Paris",
    "CEST": "Europe/Paris",
    "EET": "Europe/Athens",
    "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "ET": "America/New_York",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CT": "America/Chicago",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "MT": "America/Denver",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PT": "America/Los_Angeles",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "AKDT": "America/Anchorage",
    "HST": "Pacific/Honolulu",
    "BRT": "America/Sao_Paulo",
}


class TimeParseError(ValueError):
    """A time or duration a user wrote that cannot be used; `str()` says why and shows the accepted forms."""

    def __init__(self, reason: Msg, *, forms: str = TIME_FORMS, recognized: bool = False) -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.forms = forms
        # True when the text had the shape of a time but its value was refused (future, no such date …).
        self.recognized = recognized

    def __str__(self) -> str:
        return t("time.error_with_forms", DEFAULT_LANG, reason=self.reason, forms=self.forms)


_OFFSET = r"[+-]\d{1,2}(?::?\d{2})?"
_ZONE = rf"(?P<zone>{_OFFSET}|(?:utc|gmt){_OFFSET}|[a-z][a-z0-9_+-]*(?:/[a-z0-9_+-]+)*)"
_DAY = r"(?:(?P<year>\d{4})[-/](?P<month>\d{1,2})[-/](?P<day>\d{1,2})|(?P<dayword>today|yesterday))"
_CLOCK24 = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,6}))?)?"
_CLOCK12 = r"(?P<hour12>\d{1,2})(?::(?P<minute12>\d{2}))? ?(?P<ampm>[ap])\.?m\.?(?![a-z_/])"
_ABSOLUTE = re.compile(
    rf"(?:{_DAY}(?:t| ))?(?:{_CLOCK12}|{_CLOCK24})(?: ?{_ZONE})?", re.IGNORECASE | re.ASCII
)
_DATE_ONLY = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}", re.ASCII)
_UNITS = {
    "w": 604800,
    "wk": 604800,
    "wks": 604800,
    "week": 604800,
    "weeks": 604800,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
}
_PART = r"(\d{1,12}(?:\.\d{1,6})?) ?(weeks?|wks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)"
_PARTS = re.compile(rf"(?:{_PART} ?)+", re.IGNORECASE | re.ASCII)
_ONE_PART = re.compile(_PART, re.IGNORECASE | re.ASCII)
_RELATIVE = re.compile(rf"(?P<parts>(?:{_PART} ?)+)ago", re.IGNORECASE | re.ASCII)


def normalise(text: str) -> str:
    """Folds full-width forms (`１４：０５`) to ASCII and runs of whitespace to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _shown(text: str) -> str:
    """A user's input, shortened for quoting back in a message."""
    return f'"{text[:40]}…"' if len(text) > 40 else f'"{text}"'


@cache
def _zone_names() -> dict[str, str]:
    """IANA zone names by their lowercase spelling."""
    return {name.lower(): name for name in available_timezones()}


def _iana(name: str) -> ZoneInfo | None:
    """The IANA zone of that name (any case), or None."""
    canonical = _zone_names().get(name.lower())
    if canonical is None:
        return None
    try:
        return ZoneInfo(canonical)
    except (ValueError, OSError):
        return None


def _offset(text: str) -> timezone:
    """A fixed offset from `+09:00`, `+0900`, `+9` or `-05:30`."""
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    if len(digits) <= 2:
        hours, minutes = int(digits), 0
    else:
        hours, minutes = int(digits[:-2]), int(digits[-2:])
    if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
        raise TimeParseError(Msg("time.bad_offset", text=_shown(text)), recognized=True)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _tz_for(name: str) -> tzinfo:
    """The time zone a user named: an abbreviation, an offset, `UTC+9`, or an IANA name."""
    upper = name.upper()
    if upper in ZONE_ABBREVIATIONS:
        return ZoneInfo(ZONE_ABBREVIATIONS[upper])
    if name[0] in "+-":
        return _offset(name)
    if upper[:3] in ("UTC", "GMT") and len(name) > 3 and name[3] in "+-":
        return _offset(name[3:])
    found = _iana(name)
    if found is None:
        raise TimeParseError(Msg("time.unknown_zone", text=_shown(name)))
    return found


def _exists(local: datetime) -> bool:
    """False for a wall time skipped by a clock change (02:30 on a spring-forward night)."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def _seconds(parts: str) -> float:
    """The total seconds of `1h30m`, `90 minutes`, `2 days`."""
    return sum(float(number) * _UNITS[unit.lower()] for number, unit in _ONE_PART.findall(parts))


def _check_bounds(result: datetime, *, now: datetime, future_hint: Msg) -> datetime:
    """Refuses a time in the future or before 1970; clamps small clock skew to `now`."""
    if result > now + CLOCK_SKEW:
        raise TimeParseError(Msg("time.future", hint=future_hint), recognized=True)
    if result < EARLIEST:
        raise TimeParseError(Msg("time.before_1970_date"), recognized=True)
    return min(result, now)


def parse_time(text: str, *, now: datetime, tz: ZoneInfo, allow_future: bool = False) -> datetime:
    """Reads a time a user wrote (`14:05`, `14:05 JST`, `2026-11-24 14:05`, ISO 8601, `10m ago`) as UTC; a
    time in the future is refused unless `allow_future` (the end of a stats window may lie ahead)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    cleaned = normalise(text)
    if not cleaned:
        raise TimeParseError(Msg("time.missing"))
    try:
        return _parse(cleaned, now=now, tz=tz, allow_future=allow_future)
    except TimeParseError:
        raise
    except (ValueError, OverflowError) as exc:
        raise TimeParseError(Msg("time.invalid", text=_shown(cleaned)), recognized=True) from exc


def _parse(cleaned: str, *, now: datetime, tz: ZoneInfo, allow_future: bool) -> datetime:
    """parse_time on normalised text."""
    if cleaned.lower() == "now":
        return now
    if relative := _RELATIVE.fullmatch(cleaned):
        seconds = _seconds(relative["parts"])
        if not seconds < (now - EARLIEST).total_seconds():
            raise TimeParseError(Msg("time.before_1970_number"), recognized=True)
        return now - timedelta(seconds=seconds)
    if _DATE_ONLY.fullmatch(cleaned):
        raise TimeParseError(Msg("time.no_clock", text=_shown(cleaned), example=cleaned), recognized=True)
    found = _ABSOLUTE.fullmatch(cleaned)
    if found is None:
        raise TimeParseError(Msg("time.unreadable", text=_shown(cleaned)))
    zone_text = found["zone"]
    where: tzinfo = tz if zone_text is None else _tz_for(zone_text)
    clock = _clock(found)
    suffix = f" {zone_text}" if zone_text else ""
    if found["year"] is not None:
        iso_day = f"{int(found['year']):04d}-{int(found['month']):02d}-{int(found['day']):02d}"
        try:
            day = _day(iso_day)
        except ValueError as exc:
            raise TimeParseError(Msg("time.no_such_date", date=iso_day), recognized=True) from exc
        hint: Msg = Msg("time.hint_now", now=format_local(now, where))
    else:
        today = now.astimezone(where).date()
        day = today - timedelta(days=1) if (found["dayword"] or "").lower() == "yesterday" else today
        yesterday = day - timedelta(days=1)
        hint = Msg("time.hint_yesterday", example=f"{yesterday.isoformat()} {clock:%H:%M}{suffix}")
    local = datetime.combine(day, clock, tzinfo=where)
    if not _exists(local):
        raise TimeParseError(Msg("time.skipped", text=cleaned, zone=str(where)), recognized=True)
    if allow_future and local > now:
        return local.astimezone(UTC)
    return _check_bounds(local.astimezone(UTC), now=now, future_hint=hint)


def _clock(found: re.Match[str]) -> time:
    """The time of day of a matched `14:05:30.5` or `2:05pm`."""
    if found["ampm"] is not None:
        hour = int(found["hour12"])
        if not 1 <= hour <= 12:
            raise TimeParseError(Msg("time.bad_hour12", text=f"{hour}{found['ampm']}m"), recognized=True)
        hour = hour % 12 + (12 if found["ampm"].lower() == "p" else 0)
        return time(hour, int(found["minute12"] or 0))
    hour, minute = int(found["hour"]), int(found["minute"])
    if hour > 23 or minute > 59:
        raise TimeParseError(Msg("time.bad_clock", text=f"{hour:02d}:{minute:02d}"), recognized=True)
    second = int(found["second"] or 0)
    fraction = int((found["fraction"] or "").ljust(6, "0"))
    return time(hour, minute, min(second, 59), fraction)


def parse_duration(text: str, *, longest: timedelta = MAX_DURATION) -> timedelta:
    """Reads a duration a user wrote (`30d`, `12w`, `24h`, `90m`, `1h30m`), at most `longest`."""
    cleaned = normalise(text)
    if not _PARTS.fullmatch(cleaned):
        raise TimeParseError(Msg("time.duration_unreadable", text=_shown(cleaned)), forms=DURATION_FORMS)
    seconds = _seconds(cleaned)
    if not math.isfinite(seconds) or seconds > longest.total_seconds():
        raise TimeParseError(Msg("time.duration_too_long"), forms=DURATION_FORMS)
    if seconds <= 0:
        raise TimeParseError(Msg("time.duration_zero"), forms=DURATION_FORMS)
    return timedelta(seconds=seconds)


def parse_date(text: str, *, tz: tzinfo) -> datetime | None:
    """The start of a calendar day a user wrote (`2026-07-01`, `2026/7/1`) in a zone, as UTC; None when the
    text is not a date alone."""
    cleaned = normalise(text)
    if not _DATE_ONLY.fullmatch(cleaned):
        return None
    year, month, day = (int(part) for part in re.split(r"[-/]", cleaned))
    iso_day = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        date = _day(iso_day)
    except ValueError as exc:
        raise TimeParseError(Msg("time.no_such_date", date=iso_day), recognized=True) from exc
    start = datetime.combine(date, time(0), tzinfo=tz).astimezone(UTC)
    if start < EARLIEST:
        raise TimeParseError(Msg("time.before_1970_date"), recognized=True)
    return start


def format_duration(seconds: float | None, lang: Lang = DEFAULT_LANG) -> str:
    """Shows a number of seconds as `45s`, `12m`, `1h 05m` or `2d 03h` (`45秒`, `1時間05分` in Japanese;
    `—` when unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    total = int(abs(seconds))
    sign = "-" if seconds < 0 and total else ""
    if total < 60:
        return sign + t("time.seconds", lang, s=total)
    if total < 3600:
        return sign + t("time.minutes", lang, m=total // 60)
    if total < 86400:
        hours, rest = divmod(total, 3600)
        return sign + t("time.hours_minutes", lang, h=hours, m=f"{rest // 60:02d}")
    days, rest = divmod(total, 86400)
    return sign + t("time.days_hours", lang, d=days, h=f"{rest // 3600:02d}")


def known_zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name (or a known abbreviation such as JST), or None when there is none."""
    cleaned = name.strip()
    return _iana(ZONE_ABBREVIATIONS.get(cleaned.upper(), cleaned)) if cleaned else None


def zone(name: str | None, *, default: str = "UTC") -> ZoneInfo:
    """The IANA zone of that name (or a known abbreviation such as JST), else `default`, else UTC."""
    for candidate in (name, default):
        found = known_zone(candidate) if candidate else None
        if found is not None:
            return found
    return ZoneInfo("UTC")


def format_local(dt: datetime, tz: tzinfo, lang: Lang = DEFAULT_LANG) -> str:
    """Shows an aware datetime in a zone as `2026-11-24 14:05 JST` (`2026年11月24日 14:05 JST` in Japanese;
    `UTC+09:00` when the zone has no name)."""
    if dt.tzinfo is None:
        raise ValueError("format_local needs a timezone-aware datetime")
    local = dt.astimezone(tz)
    name = local.tzname() or ""
    if not name or name[0] in "+-" or name[0].isdigit():
        offset = local.utcoffset() or timedelta(0)
        sign = "-" if offset < timedelta(0) else "+"
        minutes = int(abs(offset).total_seconds()) // 60
        name = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return t(
        "time.local",
        lang,
        year=local.year,
        month=local.month,
        day=local.day,
        clock=f"{local:%H:%M}",
        zone=name,
    )


def _day(iso_day: str) -> date:
    """The calendar day `YYYY-MM-DD` names; ValueError when there is none (2026-02-30). dateutil loads here,
    for the first time given with a date: its parser is about 2 MiB a server would otherwise keep."""
    from dateutil.parser import isoparse

    return isoparse(iso_day).date()
