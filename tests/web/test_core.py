"""The web dashboard's pure parts: signed cookies, the browser's language, the gantt, the charts, filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.doctor import web_check
from bot.settings import EnvSettings, Settings, TeamConfig
from bot.web.charts import Bar, column_groups, horizontal_bars, nice_step
from bot.web.config import setup_problem, viewer_language
from bot.web.gantt import parse_gantt
from bot.web.pages import BadRequest, ListQuery, plain_mentions
from bot.web.session import SESSION_COOKIE, SIGN_IN_COOKIE, CookieSigner, Viewer

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_signed_cookie_reads_back_until_it_expires_and_not_after_tampering() -> None:
    signer = CookieSigner("s" * 40)
    value = signer.sign(
        SESSION_COOKIE, {"user": "U1", "name": "Ann", "tz": "Asia/Tokyo"}, now=NOW, lifetime=60
    )
    data = signer.read(SESSION_COOKIE, value, now=NOW + timedelta(seconds=59))
    assert data is not None and Viewer.of(data, value) == Viewer("U1", "Ann", "Asia/Tokyo", value)
    assert signer.read(SESSION_COOKIE, value, now=NOW + timedelta(seconds=60)) is None  # expired
    assert signer.read(SIGN_IN_COOKIE, value, now=NOW) is None  # one cookie never passes as another
    assert CookieSigner("t" * 40).read(SESSION_COOKIE, value, now=NOW) is None  # another secret
    payload, signature = value.split(".")
    forged = signer.sign(SESSION_COOKIE, {"user": "U2"}, now=NOW, lifetime=60).split(".")[0]
    assert signer.read(SESSION_COOKIE, f"{forged}.{signature}", now=NOW) is None
    for junk in ("", "abc", "a.b.c", f"{payload}.", ".x", None):
        assert signer.read(SESSION_COOKIE, junk, now=NOW) is None
    assert Viewer.of({"name": "no user"}, "x") is None


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("ja", "ja"),
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR,ja;q=0.5", "ja"),
        ("de, fr", "en"),
        ("en;q=0.2, ja;q=0.7", "ja"),
        ("ja;q=0, en", "en"),
        ("ja;q=abc", "en"),
    ],
)
def test_the_browser_language_picks_the_catalogue(header: str | None, lang: str) -> None:
    assert viewer_language(header) == lang


GANTT = """gantt
    title Incident 12
    dateFormat YYYY-MM-DD HH:mm:ss
    axisFormat %m-%d %H:%M
    section Impact
    Outage :crit, 2026-11-24 14:00:00, 2026-11-24 15:10:00
    section Response
    Until detected :2026-11-24 14:00:00, 2026-11-24 14:12:00
    Open :active, 2026-11-24 14:12:00, 2026-11-24 16:00:00
"""


def test_the_postmortem_gantt_is_read_back_and_nothing_else_is() -> None:
    chart = parse_gantt(GANTT)
    assert chart is not None and chart.title == "Incident 12"
    assert [(b.section, b.label, b.kind) for b in chart.bars] == [
        ("Impact", "Outage", "crit"),
        ("Response", "Until detected", ""),
        ("Response", "Open", "active"),
    ]
    assert chart.bars[0].end - chart.bars[0].start == timedelta(minutes=70)
    assert parse_gantt("graph TD\n  A-->B") is None
    assert parse_gantt(GANTT.replace("2026-11-24 15:10:00", "soon")) is None
    assert parse_gantt("gantt\n    click A call alert()") is None


def test_chart_labels_are_escaped() -> None:
    svg = horizontal_bars(
        [Bar("<script>", 0.99, target=0.999)], title="a & b", low=0.9, high=1.0, shown=lambda v: f"{v:.3f}"
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg
    assert 'class="bad"' in svg  # under its target
    svg = column_groups(["<w>"], [("<s>", [3.0])], title="t", shown=str, stacked=True)
    assert "<w>" not in svg and "&lt;s&gt;" in svg


def test_axes_step_in_whole_numbers_and_round_durations() -> None:
    # Counts: each tick a whole number, shown once (3 incidents: 0, 1, 2, 3, 4 — not 0, 1.25, 2.5 …).
    assert [nice_step(t) for t in (0, 3, 4, 5, 9, 30, 200)] == [1, 1, 1, 2, 5, 10, 50]
    # Durations in seconds: no axis of sub-second steps all shown as "0s"; minutes and hours stay round.
    assert [nice_step(t, durations=True) for t in (0, 0.4, 50, 1000, 14000, 10**6)] == [
        1,
        1,
        15,
        300,
        3600,
        604800,
    ]
    svg = column_groups(
        ["w"], [("SEV1", [2.0]), ("SEV3", [1.0])], title="t", shown=lambda v: f"{v:.0f}", stacked=True
    )
    ticks = re.findall(r'class="axis" x="[^"]+" y="[^"]+" text-anchor="end">([^<]*)<', svg)
    assert ticks == ["0", "1", "2", "3", "4"]


def test_list_filters_say_what_to_write() -> None:
    severities = ("SEV1", "SEV2")
    types = ("default", "security")
    query = {"status": "open", "severity": "sev2", "type": "SECURITY", "window": "7d", "q": " lag "}
    wanted = ListQuery.of(query).wanted(severities=severities, types=types, now=NOW)
    assert wanted.types == ("security",)
    assert wanted.statuses == ("investigating", "identified", "monitoring")
    assert wanted.severities == ("SEV2",) and wanted.text == "lag"
    assert wanted.started_since == NOW - timedelta(days=7)
    for query, key in (
        ({"status": "asleep"}, "web.error.status"),
        ({"severity": "SEV9"}, "web.error.severity"),
        ({"window": "forever"}, "web.error.window"),
        ({"window": "99999d"}, "web.error.window"),
        ({"page": "0"}, "web.error.page"),
        ({"page": "x"}, "web.error.page"),
        ({"type": "outage"}, "web.error.type"),
    ):
        with pytest.raises(BadRequest) as raised:
            ListQuery.of(query).wanted(severities=severities, types=types, now=NOW)
        assert raised.value.message.key == key
    assert ListQuery.of({"q": "a&b", "page": "2"}).link(page=3) == "/incidents?q=a%26b&page=3"


def test_slack_markup_reads_as_text() -> None:
    assert plain_mentions("<@U1> paged <!subteam^S1|@sre> in <#C1|ops>, see <https://x.test|docs>") == (
        "@U1 paged @sre in #ops, see docs"
    )


def _settings(**env: object) -> Settings:
    return Settings(env=EnvSettings(_env_file=None, **env), team=TeamConfig())  # type: ignore[call-arg]


def test_doctor_says_how_to_set_sign_in_up() -> None:
    unset = web_check(_settings())
    assert unset.ok and "HASHI_SLACK_CLIENT_ID" in unset.detail and "shows no incident" in unset.detail
    half = web_check(_settings(HASHI_SLACK_CLIENT_ID="1.2"))
    assert (
        not half.ok and "HASHI_SESSION_SECRET" in half.detail and "HASHI_SLACK_CLIENT_ID" not in half.detail
    )
    ready = web_check(
        _settings(
            HASHI_SLACK_CLIENT_ID="1.2",
            HASHI_SLACK_CLIENT_SECRET="x",
            HASHI_PUBLIC_URL="https://hashi.example.com/",
            HASHI_SESSION_SECRET="k" * 32,
        )
    )
    assert ready.ok and ready.detail.startswith("https://hashi.example.com/,")
    assert web_check(_settings(HASHI_WEB=False)).detail == "off (HASHI_WEB=false)"
    assert setup_problem(client_id="a", client_secret="b", public_url="c", session_secret="d") is None


def test_settings_refuse_a_short_session_secret_and_a_bad_address() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        _settings(HASHI_SESSION_SECRET="short")
    with pytest.raises(ValueError, match="not an http"):
        _settings(HASHI_PUBLIC_URL="hashi.example.com")
