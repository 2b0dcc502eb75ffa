"""`/incident` command text → commands: every form of INTERFACE.md, and each bad input as a ParseError."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.incidents.commands import (
    Acknowledge,
    AddFollowup,
    AddNote,
    AssignRole,
    Close,
    Command,
    Declare,
    Help,
    ListIncidents,
    Mitigated,
    OpenDeclareModal,
    Page,
    Postmortem,
    Reopen,
    Resolve,
    SetDetected,
    SetImpact,
    SetLead,
    SetSeverity,
    SetStatus,
    ShowChecklist,
    StartPlaybook,
    Stats,
)
from bot.incidents.model import DEFAULT_SEVERITIES, Status
from bot.incidents.windows import Window
from bot.slack.bodies import request_body, selected_option, selected_options
from bot.slack.parse import parse_command, usage_text
from bot.slack.text import MAX_REASON, MAX_TEXT, MAX_TITLE, parse_mention
from bot.slack.words import ParseError

# 2026-11-24 10:00 UTC is 19:00 in Tokyo.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
ROLES = ("lead", "comms", "scribe", "ops")
AT_1405_JST = datetime(2026, 11, 24, 5, 5, tzinfo=UTC)


def span(**length: float) -> Window:
    """A window over the last `length` (`span(days=30)`)."""
    return Window(span=timedelta(**length))


def parse(text: str, *, severities: tuple[str, ...] = DEFAULT_SEVERITIES, tz: ZoneInfo = TOKYO) -> Command:
    """Parses text that must be a command."""
    result = parse_command(text, severities=severities, roles=ROLES, now=NOW, tz=tz)
    assert not isinstance(result, ParseError), result
    return result


def refuse(text: str, *, severities: tuple[str, ...] = DEFAULT_SEVERITIES) -> ParseError:
    """Parses text that must be refused."""
    result = parse_command(text, severities=severities, roles=ROLES, now=NOW, tz=TOKYO)
    assert isinstance(result, ParseError), result
    assert result.message
    assert result.usage
    return result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", OpenDeclareModal()),
        ("   ", OpenDeclareModal()),
        ("declare", OpenDeclareModal()),
        ("DECLARE", OpenDeclareModal()),
        ("declare SEV2", OpenDeclareModal()),
        ('declare ""', OpenDeclareModal()),
        ("declare SEV2 Checkout is down", Declare(severity="SEV2", title="Checkout is down")),
        ("declare sev1 Checkout is down", Declare(severity="SEV1", title="Checkout is down")),
        ("declare Checkout is down", Declare(severity=None, title="Checkout is down")),
        ("declare 500 errors on checkout", Declare(severity=None, title="500 errors on checkout")),
        ("declare 2 regions down", Declare(severity=None, title="2 regions down")),
        ('declare SEV3 "Checkout is down"', Declare(severity="SEV3", title="Checkout is down")),
        ("declare “smart quotes”", Declare(severity=None, title="smart quotes")),
        ("declare 「決済APIが落ちた」", Declare(severity=None, title="決済APIが落ちた")),
        ("declare 決済 APIが落ちた 🔥", Declare(severity=None, title="決済 APIが落ちた 🔥")),
        ("declare 'it's' down", Declare(severity=None, title="'it's' down")),
        ("declare a\nb", Declare(severity=None, title="a b")),
        ("list", ListIncidents()),
        ("LIST", ListIncidents()),
        ("help", Help()),
        ("help sev", Help()),
        ("stats", Stats(window=span(days=30), window_text="30d", service=None)),
        ("stats 12w", Stats(window=span(weeks=12), window_text="12w", service=None)),
        ("stats 7d service:checkout", Stats(window=span(days=7), window_text="7d", service="checkout")),
        ("stats service:checkout 7d", Stats(window=span(days=7), window_text="7d", service="checkout")),
        ("stats service:checkout", Stats(window=span(days=30), window_text="30d", service="checkout")),
        ("stats service: checkout", Stats(window=span(days=30), window_text="30d", service="checkout")),
        ("stats service=決済", Stats(window=span(days=30), window_text="30d", service="決済")),
        ("stats ３０Ｄ", Stats(window=span(days=30), window_text="30d", service=None)),
        ("stats 5000d", Stats(window=span(days=5000), window_text="5000d", service=None)),
        ("stats all", Stats(window=Window(), window_text="all", service=None)),
        (
            "stats 2026-07-01..2026-10-01 service:checkout",
            Stats(
                window=Window(
                    since=datetime(2026, 6, 30, 15, tzinfo=UTC), until=datetime(2026, 9, 30, 15, tzinfo=UTC)
                ),
                window_text="2026-07-01..2026-10-01",
                service="checkout",
            ),
        ),
    ],
)
def test_commands_usable_anywhere(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sev SEV1", SetSeverity(incident_id=None, severity="SEV1", reason="")),
        ("sev sev1", SetSeverity(incident_id=None, severity="SEV1", reason="")),
        ("sev 1", SetSeverity(incident_id=None, severity="SEV1", reason="")),
        ("sev SEV-2", SetSeverity(incident_id=None, severity="SEV2", reason="")),
        ("sev ２", SetSeverity(incident_id=None, severity="SEV2", reason="")),
        ("severity 3 fewer users", SetSeverity(incident_id=None, severity="SEV3", reason="fewer users")),
        (
            "sev SEV1 all   of checkout",
            SetSeverity(incident_id=None, severity="SEV1", reason="all   of checkout"),
        ),
        (
            "status monitoring",
            SetStatus(incident_id=None, status=Status.MONITORING, at=None, message=""),
        ),
        (
            "status Identified bad deploy",
            SetStatus(incident_id=None, status=Status.IDENTIFIED, at=None, message="bad deploy"),
        ),
        (
            "status inv",
            SetStatus(incident_id=None, status=Status.INVESTIGATING, at=None, message=""),
        ),
        (
            "status resolved at 14:05 JST rollback done",
            SetStatus(incident_id=None, status=Status.RESOLVED, at=AT_1405_JST, message="rollback done"),
        ),
        ("ack", Acknowledge(incident_id=None, at=None)),
        ("acknowledge", Acknowledge(incident_id=None, at=None)),
        ("ack at 14:05", Acknowledge(incident_id=None, at=AT_1405_JST)),
        ("ack 14:05", Acknowledge(incident_id=None, at=AT_1405_JST)),
        ("ack at 10m ago", Acknowledge(incident_id=None, at=NOW - timedelta(minutes=10))),
        ("mitigated", Mitigated(incident_id=None, at=None)),
        ("mitigated at 1h30m ago", Mitigated(incident_id=None, at=NOW - timedelta(minutes=90))),
        ("mitigated at 2026-11-24T05:05Z", Mitigated(incident_id=None, at=AT_1405_JST)),
        ("lead <@U123>", SetLead(incident_id=None, user_id="U123")),
        ("lead <@U123|bob>", SetLead(incident_id=None, user_id="U123")),
        ("lead <@W0ABC>", SetLead(incident_id=None, user_id="W0ABC")),
        ("role comms <@U1>", AssignRole(incident_id=None, role="comms", user_id="U1")),
        ("role Scribe <@U1|ann>", AssignRole(incident_id=None, role="scribe", user_id="U1")),
        ("role <@U1> ops", AssignRole(incident_id=None, role="ops", user_id="U1")),
        ("role lead <@U1>", SetLead(incident_id=None, user_id="U1")),
        ("note deploy started", AddNote(incident_id=None, at=None, text="deploy started")),
        ("log deploy started", AddNote(incident_id=None, at=None, text="deploy started")),
        ("note at 14:05 deploy started", AddNote(incident_id=None, at=AT_1405_JST, text="deploy started")),
        ("note at 14:05 JST deploy", AddNote(incident_id=None, at=AT_1405_JST, text="deploy")),
        ("note at 2026-11-24 14:05 deploy", AddNote(incident_id=None, at=AT_1405_JST, text="deploy")),
        ("note at 2026-11-24 14:05 JST 再起動", AddNote(incident_id=None, at=AT_1405_JST, text="再起動")),
        ("note at 2:05 pm deploy", AddNote(incident_id=None, at=AT_1405_JST, text="deploy")),
        (
            "note at 1 hour 30 minutes ago paged",
            AddNote(incident_id=None, at=NOW - timedelta(minutes=90), text="paged"),
        ),
        ("note at 14:05 deploy xyz", AddNote(incident_id=None, at=AT_1405_JST, text="deploy xyz")),
        ('note "at least 3 hosts"', AddNote(incident_id=None, at=None, text="at least 3 hosts")),
        ("note デプロイ完了 🚀✅", AddNote(incident_id=None, at=None, text="デプロイ完了 🚀✅")),
        ("note at １４：０５　全角で入力", AddNote(incident_id=None, at=AT_1405_JST, text="全角で入力")),
        (
            "note line one\n  line two\n\tthree",
            AddNote(incident_id=None, at=None, text="line one\n  line two\n\tthree"),
        ),
        ("note a\x00b\x07c\x1bd", AddNote(incident_id=None, at=None, text="abcd")),
        ("note 👨‍👩‍👧 family", AddNote(incident_id=None, at=None, text="👨‍👩‍👧 family")),
        (
            "impact start 13:55",
            SetImpact(incident_id=None, edge="start", at=AT_1405_JST - timedelta(minutes=10)),
        ),
        ("impact end at 14:05 JST", SetImpact(incident_id=None, edge="end", at=AT_1405_JST)),
        ("impact started 2026-11-24T05:05Z", SetImpact(incident_id=None, edge="start", at=AT_1405_JST)),
        ("detected 14:05", SetDetected(incident_id=None, at=AT_1405_JST)),
        ("detected at 1h30m ago", SetDetected(incident_id=None, at=NOW - timedelta(minutes=90))),
        ("resolve", Resolve(incident_id=None, at=None, summary="")),
        ("resolve rolled back", Resolve(incident_id=None, at=None, summary="rolled back")),
        ("resolve at 14:05 rolled back", Resolve(incident_id=None, at=AT_1405_JST, summary="rolled back")),
        ("reopen", Reopen(incident_id=None)),
        ("close", Close(incident_id=None)),
        ("checklist", ShowChecklist(incident_id=None)),
        ("checklists", ShowChecklist(incident_id=None)),
        ("playbook database-outage", StartPlaybook(incident_id=None, name="database-outage")),
        ("followup add an alert", AddFollowup(incident_id=None, text="add an alert", owner=None)),
        ("followup add an alert <@U9|ann>", AddFollowup(incident_id=None, text="add an alert", owner="U9")),
        (
            "followup ask <@U1> about <@U2> <@U9>",
            AddFollowup(incident_id=None, text="ask <@U1> about <@U2>", owner="U9"),
        ),
        ("follow-up アラート追加 <@U9>", AddFollowup(incident_id=None, text="アラート追加", owner="U9")),
        ("postmortem", Postmortem(incident_id=None)),
    ],
)
def test_commands_in_an_incident_channel(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INC-12 sev 1", SetSeverity(incident_id=12, severity="SEV1", reason="")),
        ("inc-12 ack", Acknowledge(incident_id=12, at=None)),
        ("#12 close", Close(incident_id=12)),
        ("Inc12 reopen", Reopen(incident_id=12)),
        ("ＩＮＣ－１２ checklist", ShowChecklist(incident_id=12)),
        ("sev INC-12 2", SetSeverity(incident_id=12, severity="SEV2", reason="")),
        ("note #7 at 14:05 ok", AddNote(incident_id=7, at=AT_1405_JST, text="ok")),
        ("INC-3 followup fix it <@U1>", AddFollowup(incident_id=3, text="fix it", owner="U1")),
        ("INC-3 lead <@U1>", SetLead(incident_id=3, user_id="U1")),
        ("INC-3 postmortem", Postmortem(incident_id=3)),
        ("INC-3 playbook security", StartPlaybook(incident_id=3, name="security")),
    ],
)
def test_incident_id_as_first_argument(text: str, expected: Command) -> None:
    assert parse(text) == expected


def test_case_insensitive_and_full_width_subcommands() -> None:
    assert parse("NOTE hi") == AddNote(incident_id=None, at=None, text="hi")
    assert parse("ｎｏｔｅ hi") == AddNote(incident_id=None, at=None, text="hi")
    assert parse("Resolve") == Resolve(incident_id=None, at=None, summary="")


def test_free_text_keeps_original_spacing_and_unicode() -> None:
    text = "  tokyo    region\u3000全角スペース  🔥  "
    assert parse(f"note{text}") == AddNote(incident_id=None, at=None, text=text.strip())


def test_slack_escaping_is_decoded_in_free_text() -> None:
    command = parse("note AT&amp;T said &lt;!channel&gt; is fine")
    assert command == AddNote(incident_id=None, at=None, text="AT&T said <!channel> is fine")


def test_slack_markup_in_free_text_becomes_plain() -> None:
    command = parse("note see <https://grafana.example/d/1|grafana.example/d/1> <https://x.example> <!here>")
    assert command == AddNote(
        incident_id=None, at=None, text="see grafana.example/d/1 https://x.example @here"
    )


def test_mentions_in_free_text_are_kept() -> None:
    command = parse("note paged <@U1|bob> in <#C2|ops>")
    assert command == AddNote(incident_id=None, at=None, text="paged <@U1|bob> in <#C2|ops>")


def test_times_use_the_users_zone() -> None:
    new_york = ZoneInfo("America/New_York")
    command = parse("ack at 04:30", tz=new_york)
    assert command == Acknowledge(incident_id=None, at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC))


def test_severity_number_must_match_exactly_one_code() -> None:
    severities = ("P1", "P2", "P11")
    assert parse("sev 1", severities=severities) == SetSeverity(incident_id=None, severity="P1", reason="")
    assert parse("sev p11", severities=severities) == SetSeverity(incident_id=None, severity="P11", reason="")
    ambiguous = ("SEV1", "P1")
    error = refuse("sev 1", severities=ambiguous)
    assert "SEV1, P1" in error.message


def test_custom_severities_in_declare() -> None:
    severities = ("critical", "major", "minor")
    assert parse("declare Major db slow", severities=severities) == Declare(severity="major", title="db slow")


@pytest.mark.parametrize(
    ("text", "in_message", "in_usage"),
    [
        ("frobnicate", "`frobnicate`", "/incident help"),
        ("nte hi", "Did you mean `note`?", "/incident help"),
        ("stauts monitoring", "`status`", "/incident help"),
        ("checkout is down", "/incident declare <title>", "/incident help"),
        ("INC-12", "Add a command", "INC-12"),
        ("#5", "Add a command", "INC-5"),
        ("INC-1 sev INC-2 1", "only once", "/incident sev"),
        ("INC-0 close", "no incident 0", "/incident close"),
        ("INC-4 list", "takes no incident id", "/incident list"),
        ("INC-4 declare x", "takes no incident id", "/incident declare"),
        ("list everything", "`everything`", "/incident list"),
        ("stats forever", "could not read", "/incident stats [<window>|<since>..<until>|all]"),
        ("stats 2026-10-01..2026-07-01", "before it starts", "/incident stats"),
        ("stats 0d", "longer than zero", "/incident stats"),
        ("stats 7d 30d", "`30d`", "/incident stats"),
        ("stats service:", "Name one service", "/incident stats"),
        ("stats service:a service:b", "Name one service", "/incident stats"),
        ("sev", "Which severity?", "/incident sev <SEV1|SEV2|SEV3|SEV4> [reason]"),
        ("sev 9", "SEV1, SEV2, SEV3, SEV4", "/incident sev <SEV1|SEV2|SEV3|SEV4> [reason]"),
        ("sev SEV5", "`SEV5` is not a severity", "/incident sev"),
        ("sev critical", "is not a severity", "/incident sev"),
        ("status", "Which status?", "investigating|identified|monitoring|resolved"),
        ("status fixed", "is not a status", "/incident status"),
        ("status monitorng", "Did you mean `monitoring`?", "/incident status"),
        ("status closed", "/incident close", "/incident status"),
        ("status open", "/incident reopen", "/incident status"),
        ("status monitoring at", "`at` needs a time", "[at <time>] [message]"),
        ("status monitoring at 23:50", "2026-11-23 23:50", "/incident status"),
        ("ack at", "`at` needs a time", "/incident ack [at <time>]"),
        ("ack at tomorrow", "`tomorrow`", "/incident ack [at <time>]"),
        ("ack at 23:50", "future", "/incident ack"),
        ("ack at 25:00", "not a time of day", "/incident ack"),
        ("ack at 14:05 extra", "`extra`", "/incident ack"),
        ("ack soon", "could not read", "/incident ack"),
        ("mitigated at 2026-02-30 10:00", "not a date", "/incident mitigated"),
        ("lead", "Who should lead?", "/incident lead <@user>"),
        ("lead @bob", "autocomplete", "/incident lead"),
        ("lead ＠ボブ", "autocomplete", "/incident lead"),
        ("lead bob", "not a mention", "/incident lead"),
        ("lead <!subteam^S1|@oncall>", "user group", "/incident lead"),
        ("lead <#C1|ops>", "channel", "/incident lead"),
        ("lead <@U1> <@U2>", "takes nothing more", "/incident lead"),
        ("role", "Name the role", "/incident role <comms|scribe|ops> <@user>"),
        ("role comms", "Name the role", "/incident role"),
        ("role chef <@U1>", "lead, comms, scribe, ops", "/incident role"),
        ("role comms @ann", "autocomplete", "/incident role"),
        ("role comms ann", "not a mention", "/incident role"),
        ("note", "empty", "/incident note [at <time>] <text>"),
        ('note ""', "empty", "/incident note"),
        ("note at 14:05", "empty", "/incident note"),
        ("note at least 3 hosts", 'quote it: `/incident note "at least…"`', "/incident note"),
        ("impact", "`start` or `end`", "/incident impact start|end <time>"),
        ("impact sideways 14:05", "`start` or `end`", "/incident impact"),
        ("impact start", "When?", "/incident impact"),
        ("impact end garbage", "could not read", "/incident impact"),
        ("impact end 23:50", "future", "/incident impact"),
        ("detected", "When?", "/incident detected <time>"),
        ("detected yesterday", "could not read", "/incident detected"),
        ("resolve at", "`at` needs a time", "/incident resolve"),
        ("reopen now", "takes nothing more", "/incident reopen"),
        ("close it", "takes nothing more", "/incident close"),
        ("checklist all", "takes nothing more", "/incident checklist"),
        ("postmortem md", "takes nothing more", "/incident postmortem"),
        ("playbook", "Which playbook?", "/incident playbook <name>"),
        ("followup", "empty", "/incident followup <text> [<@owner>]"),
        ("followup <@U1>", "empty", "/incident followup"),
        ("followup fix alerts @ann", "autocomplete", "/incident followup"),
    ],
)
def test_bad_input_says_what_was_wrong_and_the_right_form(text: str, in_message: str, in_usage: str) -> None:
    error = refuse(text)
    assert in_message in error.message
    assert in_usage in error.usage


def test_bad_input_usage_is_one_line() -> None:
    for text in ("sev", "status monitoring at 25:00", "stats forever", "ack at", "frobnicate", "INC-3"):
        assert "\n" not in refuse(text).usage


@pytest.mark.parametrize(
    ("text", "forms"),
    [
        ("ack at tomorrow", "Times: 14:05, 14:05 JST, 2:05pm, 2026-11-24 14:05, 2026-11-24T05:05Z, 10m ago"),
        ("note at", "Times: 14:05"),
        ("detected soon", "Times: 14:05"),
        ("impact end 23:50", "Times: 14:05"),
        ("stats forever", "Windows: 30d, 12w"),
    ],
)
def test_time_errors_show_the_accepted_forms(text: str, forms: str) -> None:
    assert forms in refuse(text).message


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("declare " + "x" * (MAX_TITLE + 1), MAX_TITLE),
        ("declare SEV1 " + "タ" * (MAX_TITLE + 1), MAX_TITLE),
        ("sev 1 " + "r" * (MAX_REASON + 1), MAX_REASON),
        ("note " + "n" * (MAX_TEXT + 1), MAX_TEXT),
        ("note at 14:05 " + "n" * (MAX_TEXT + 1), MAX_TEXT),
        ("status monitoring " + "m" * (MAX_TEXT + 1), MAX_TEXT),
        ("resolve " + "s" * (MAX_TEXT + 1), MAX_TEXT),
        ("followup " + "f" * (MAX_TEXT + 1), MAX_TEXT),
    ],
)
def test_limits_are_named(text: str, limit: int) -> None:
    error = refuse(text)
    assert f"the limit is {limit}" in error.message


@pytest.mark.parametrize(
    "text",
    ["declare " + "x" * MAX_TITLE, "sev 1 " + "r" * MAX_REASON, "note " + "n" * MAX_TEXT],
)
def test_text_at_the_limit_is_accepted(text: str) -> None:
    parse(text)


def test_errors_are_plain_text_quoting_input_as_typed() -> None:
    # The listener escapes ParseError text for mrkdwn; here it is what the user typed, decoded.
    assert "`&lt;b&gt;`" not in refuse("&lt;b&gt; hi").message
    assert "`<b>`" in refuse("&lt;b&gt; hi").message
    assert "`<!everyone>`" in refuse("sev <!everyone>").message
    assert "`it's`" in refuse("it`s").message


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("<@U123>", "U123"),
        ("<@U123|bob>", "U123"),
        ("<@W0ABC|ann smith>", "W0ABC"),
        (" <@U123> ", "U123"),
        ("@bob", None),
        ("U123", None),
        ("<@u123>", None),
        ("<#C123|ops>", None),
        ("<!here>", None),
        ("<@U123", None),
        ("<@U123>x", None),
        ("", None),
    ],
)
def test_parse_mention(token: str, expected: str | None) -> None:
    assert parse_mention(token) == expected


def test_usage_text_lists_every_command() -> None:
    text = usage_text(DEFAULT_SEVERITIES, ROLES)
    for command in [
        "/incident declare",
        "/incident list",
        "/incident stats",
        "/incident help",
        "/incident sev",
        "/incident status",
        "/incident ack",
        "/incident mitigated",
        "/incident lead",
        "/incident role",
        "/incident note",
        "`log`",
        "/incident impact start|end",
        "/incident detected",
        "/incident resolve",
        "/incident reopen",
        "/incident close",
        "/incident checklist",
        "/incident playbook",
        "/incident followup",
        "/incident postmortem",
        "INC-12",
        "10m ago",
        "`SEV1`",
        "`comms`",
    ]:
        assert command in text, command
    assert "<" not in text.replace("&lt;", "")


def test_usage_text_escapes_configuration() -> None:
    text = usage_text(("<!channel>",), ("a&b",))
    assert "<!channel>" not in text
    assert "a&amp;b" in text


_VOCABULARY = st.sampled_from(
    [
        "declare",
        "sev",
        "status",
        "ack",
        "mitigated",
        "lead",
        "role",
        "note",
        "log",
        "impact",
        "start",
        "end",
        "detected",
        "resolve",
        "reopen",
        "close",
        "checklist",
        "playbook",
        "followup",
        "postmortem",
        "stats",
        "service:",
        "list",
        "help",
        "at",
        "14:05",
        "JST",
        "23:59",
        "2026-11-24",
        "10m",
        "ago",
        "1h30m",
        "30d",
        "SEV1",
        "1",
        "INC-3",
        "#0",
        "#99999999999",
        "monitoring",
        "comms",
        "<@U1>",
        "<@U1|a b>",
        "@bob",
        "<!here>",
        "&lt;",
        "&amp;",
        '"',
        "「",
        "」",
        "🔥",
        "決済",
        "\n",
        "\x00",
        "<",
        ">",
        "１４：０５",
    ]
)


@given(st.lists(_VOCABULARY, max_size=8).map(" ".join))
def test_command_like_text_never_raises(text: str) -> None:
    result = parse_command(text, severities=DEFAULT_SEVERITIES, roles=ROLES, now=NOW, tz=TOKYO)
    assert isinstance(result, ParseError) or result is not None


@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(text: str) -> None:
    result = parse_command(text, severities=DEFAULT_SEVERITIES, roles=ROLES, now=NOW, tz=TOKYO)
    if isinstance(result, ParseError):
        assert result.message
        assert result.usage
        assert "\n" not in result.message


_PLAIN_TEXT = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="&<>\"'“‘「『„"),
    min_size=1,
    max_size=100,
)


@given(_PLAIN_TEXT)
def test_note_text_passes_through_untouched(text: str) -> None:
    words = text.split()
    assume(words)
    first = unicodedata.normalize("NFKC", words[0]).lower()
    assume(first != "at" and not re.fullmatch(r"(?:inc-?|#)[0-9]{1,9}", first))
    result = parse_command(f"note {text}", severities=DEFAULT_SEVERITIES, roles=ROLES, now=NOW, tz=TOKYO)
    expected = text.strip()
    if len(expected) > MAX_TEXT:
        assert isinstance(result, ParseError)
    else:
        assert result == AddNote(incident_id=None, at=None, text=expected)


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ({"selected_option": {"text": {"type": "plain_text", "text": "SEV1"}, "value": "SEV1"}}, "SEV1"),
        ({"selected_option": None}, None),
        ({}, None),
        ({"selected_option": "SEV1"}, None),
        ({"selected_option": ["SEV1"]}, None),
        ({"selected_option": {"value": 1}}, None),
        ("SEV1", None),
    ],
)
def test_selected_option_reads_only_an_option(element: object, expected: str | None) -> None:
    assert selected_option(element) == expected


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ({"selected_options": [{"value": "a/1"}, {"value": "a/2"}]}, frozenset({"a/1", "a/2"})),
        ({"selected_options": []}, frozenset()),
        ({}, frozenset()),
        ({"selected_options": "all"}, None),
        ({"selected_options": [{}]}, None),
        ({"selected_options": [{"value": 5}]}, None),
        ({"selected_options": [{"value": "a/1"}, "a/2"]}, None),
        ({"selected_options": None}, None),
    ],
)
def test_selected_options_reads_only_a_list_of_options(
    element: object, expected: frozenset[str] | None
) -> None:
    assert selected_options(element) == expected


# Request bodies


def test_request_body_reads_each_kind_of_slack_body() -> None:
    form = "application/x-www-form-urlencoded"
    assert request_body("text=note+payload+size&channel_name=payload-team", form) == {
        "text": "note payload size",
        "channel_name": "payload-team",
    }
    assert request_body("payload=%7B%22type%22%3A%22block_actions%22%7D", form) == {"type": "block_actions"}
    assert request_body('{"type": "event_callback"}', "application/json") == {"type": "event_callback"}
    assert request_body("", form) == {}


def test_page_takes_a_mention_or_a_service_and_nothing_else() -> None:
    assert parse("page <@U0BOB|bob>") == Page(incident_id=None, target="user:U0BOB")
    assert parse("INC-4 page checkout-api") == Page(incident_id=4, target="service:checkout-api")
    assert "Whom should I page?" in refuse("page").message
    assert "neither a mention nor a service name" in refuse("page !!!").message
    assert "page" in refuse("page checkout now").message
    assert refuse("page <!channel>").message
    assert refuse("page @bob").message  # typed, not a mention Slack delivered
