"""Each payload Hashi writes into Slack reads back as written; the wire strings stay the ones already in
Slack; nothing anyone can send makes a decode raise."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.model import Status
from bot.incidents.ports import ChatMessage
from bot.slack.payloads import (
    ChecklistBlock,
    ChecklistOption,
    Click,
    DeclareModalMeta,
    EntryEditButton,
    EntryModalMeta,
    IncidentRef,
    MessageRef,
    PageButton,
    ResolveAnywayButton,
    StatuspageButton,
    Submission,
    TimelinePageButton,
    chat_message,
    text_digest,
)
from tests.conftest import shared_path

AT = datetime(2026, 11, 24, 5, 6, tzinfo=UTC)
DIGEST = text_digest("Hit ratio fell")

# Every payload beside the exact string Hashi has always written for it (messages and open modals in Slack
# carry these; a change here is a change of wire format, which old clicks would no longer decode).
WIRE: list[tuple[Any, str]] = [
    (IncidentRef(12), "12"),
    (PageButton(3), "3"),
    (TimelinePageButton(12, 3), "12:3"),
    (EntryEditButton(12, 34), "12:34"),
    (StatuspageButton(12, Status.MONITORING), '{"id": 12, "status": "monitoring"}'),
    (ResolveAnywayButton(12, AT), '{"id": 12, "at": "2026-11-24T05:06:00+00:00"}'),
    (ResolveAnywayButton(12, None), '{"id": 12, "at": null}'),
    (ChecklistBlock(12, 10, "db-outage"), "hashi_checklist_12_10_db-outage"),
    (ChecklistOption("db-outage", "page-owner"), "db-outage/page-owner"),
    (
        DeclareModalMeta(channel_id="C0GENERAL", zone="Asia/Tokyo", lang="ja"),
        '{"channel": "C0GENERAL", "tz": "Asia/Tokyo", "lang": "ja"}',
    ),
    (DeclareModalMeta(channel_id="", zone="UTC", lang="en"), '{"channel": "", "tz": "UTC", "lang": "en"}'),
    (
        EntryModalMeta(
            incident_id=12,
            entry_id=34,
            digest=DIGEST,
            at_text="2026-11-24 14:06",
            zone="Asia/Tokyo",
            channel_id="C0ROOM",
        ),
        '{"i": 12, "e": 34, "t": "' + DIGEST + '", "a": "2026-11-24 14:06", "tz": "Asia/Tokyo", '
        '"c": "C0ROOM"}',
    ),
]


def _decode(payload: Any, value: object) -> Any:
    if isinstance(payload, ChecklistOption):
        return ChecklistOption.decode(value, playbook=payload.playbook)
    return type(payload).decode(value)


@pytest.mark.parametrize(("payload", "wire"), WIRE, ids=[type(p).__name__ for p, _ in WIRE])
def test_each_payload_encodes_as_it_always_has_and_reads_back(payload: Any, wire: str) -> None:
    assert payload.encode() == wire
    assert _decode(payload, wire) == payload


def test_an_old_resolve_anyway_button_still_carries_its_summary() -> None:
    old = json.dumps({"id": 7, "at": None, "summary": "Rolled back " * 400})
    asked = ResolveAnywayButton.decode(old)
    assert asked is not None and asked.incident_id == 7 and asked.at is None
    assert asked.summary.startswith("Rolled back") and len(asked.summary) == 2900


def test_times_keep_their_zone_and_a_time_without_one_is_refused() -> None:
    tokyo = AT.astimezone(timezone(timedelta(hours=9)))
    asked = ResolveAnywayButton.decode(ResolveAnywayButton(3, tokyo).encode())
    assert asked is not None and asked.at == AT
    assert ResolveAnywayButton.decode('{"id": 3, "at": "2026-11-24T05:06:00"}') is None


def test_long_names_are_cut_to_what_slack_takes() -> None:
    assert len(ChecklistBlock(12, 0, "p" * 400).encode()) == 255
    assert len(ChecklistOption("p" * 100, "k" * 100).encode()) == 150


def test_a_checklist_option_of_another_playbook_is_none_of_this_ones() -> None:
    assert ChecklistOption.decode("db/restart", playbook="deploy") is None
    assert ChecklistOption.decode("deploy/x/y", playbook="deploy") == ChecklistOption("deploy", "x/y")


@pytest.mark.parametrize(
    "value",
    [None, "", "x", "0x10", "１２", "²", "12345678901", "-1", " 12", "12 ", 12, 1.5, True, [], {}],
)
def test_an_incident_is_named_only_by_the_digits_hashi_wrote(value: object) -> None:
    assert IncidentRef.decode(value) is None


@pytest.mark.parametrize(
    ("value", "page"), [(None, 1), ("", 1), ("0", 1), ("x", 1), ("7", 7), ("99999999", 100_000), (5, 5)]
)
def test_a_page_is_always_some_page(value: object, page: int) -> None:
    assert PageButton.decode(value) == PageButton(page)


@pytest.mark.parametrize(
    "value",
    ["12", "12:", ":3", "12:x", "12:3:4", "a:b", "{}", None, 12],
)
def test_pairs_need_two_numbers(value: object) -> None:
    assert TimelinePageButton.decode(value) is None
    assert EntryEditButton.decode(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "{}",
        "[]",
        "null",
        "5",
        '"x"',
        "{",
        '{"id": "x"}',
        '{"id": null}',
        '{"id": []}',
        '{"id": 1e999}',
        '{"id": 7.0, "status": "resolved"}',
        '{"id": 7, "status": "Resolved"}',
        '{"id": 7, "at": "yesterday"}',
        "[" * 100_000,
        None,
        7,
    ],
)
def test_json_buttons_refuse_what_hashi_did_not_write(value: object) -> None:
    assert StatuspageButton.decode(value) is None
    if value != '{"id": 7, "status": "Resolved"}':  # the resolve button has no status to get wrong
        assert ResolveAnywayButton.decode(value) is None


@pytest.mark.parametrize(
    "value",
    [None, "", "x", "{", "[]", '{"channel": 5}', '{"tz": 5}', '{"tz": null}', '{"lang": "fr"}', "[" * 99_999],
)
def test_a_forged_declare_modal_reads_as_opened_from_nowhere(value: object) -> None:
    meta = DeclareModalMeta.decode(value)
    assert meta.channel_id == "" and meta.lang is None
    assert meta.zone == ""


@pytest.mark.parametrize(
    "value", [None, "", "{}", '{"i": 1}', '{"e": 1}', '{"i": "x", "e": 1}', '{"i": 1, "e": -1}', "[1, 2]"]
)
def test_an_entry_modal_without_its_entry_is_out_of_date(value: object) -> None:
    assert EntryModalMeta.decode(value) is None


def test_an_entry_modal_tells_whether_the_text_is_as_shown() -> None:
    meta = EntryModalMeta.decode('{"i": 1, "e": 2, "t": "' + DIGEST + '", "a": 5}')
    assert meta is not None and meta.at_text == "" and meta.zone == "" and meta.channel_id == ""
    assert meta.shows_text("  Hit ratio fell\n") and not meta.shows_text("Hit ratio rose")
    forged = EntryModalMeta.decode('{"i": 1, "e": 2, "t": ["x"]}')
    assert forged is not None and not forged.shows_text("")


SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
# The keys the decoders read, so that objects reach past their first check.
READ = "id i e t a tz c at status summary channel lang user text value actions view team state container"
KEYS = st.sampled_from(READ.split()) | st.text(max_size=5)
FLAT = SCALAR | st.lists(SCALAR, max_size=4) | st.dictionaries(KEYS, SCALAR, max_size=5)
ANYTHING = FLAT | st.lists(FLAT, max_size=3) | st.dictionaries(KEYS, FLAT, max_size=5)
DECODERS = [
    IncidentRef.decode,
    PageButton.decode,
    TimelinePageButton.decode,
    EntryEditButton.decode,
    StatuspageButton.decode,
    ResolveAnywayButton.decode,
    ChecklistBlock.decode,
    lambda v: ChecklistOption.decode(v, playbook="p"),
    DeclareModalMeta.decode,
    EntryModalMeta.decode,
    Click.decode,
    Submission.decode,
    chat_message,
    lambda v: MessageRef.decode(v, v),
]


@given(value=ANYTHING | ANYTHING.map(json.dumps) | st.text(alphabet='{}[]":,0123456789 abcdeinstuz_/'))
def test_no_value_anyone_can_send_makes_a_decode_raise(value: object) -> None:
    for decode in DECODERS:
        decode(value)


# What Slack writes, read from Slack's own documented samples (../shared/slack/payloads, with their sources)


def _sample(name: str) -> dict[str, Any]:
    return dict(json.loads(shared_path("slack", "payloads", name).read_text(encoding="utf-8")))


@pytest.mark.reference_data
def test_slacks_documented_clicks_decode() -> None:
    button = Click.decode(_sample("block_actions_button.json"))
    assert button == Click(
        user_id="W111",
        channel_id="C111",
        trigger_id="111.222.valid",
        value="click_me_123",
        block_id="b",
        selected=None,
        ticked=frozenset(),
        answerable=True,
        state=None,
    )
    ticks = Click.decode(_sample("block_actions_checkboxes.json"))
    assert ticks is not None and ticks.ticked == {"value-0", "value-2"}


@pytest.mark.reference_data
def test_slacks_documented_submission_decodes() -> None:
    sub = Submission.decode(_sample("view_submission.json"))
    assert sub is not None and (sub.user_id, sub.view_id, sub.team_id) == (
        "U12345678",
        "V12345678",
        "T12345678",
    )
    assert sub.view["state"]["values"]


@pytest.mark.reference_data
def test_slacks_documented_pin_and_reaction_name_their_message() -> None:
    pin = _sample("event_pin_added.json")["event"]
    message = pin["item"]["message"]
    ref = MessageRef.decode(pin["channel_id"], message["ts"])
    assert ref == MessageRef("C02ELGNBH", "1360782400.498405")
    assert ref.at == datetime(2013, 2, 13, 19, 6, 40, 498405, tzinfo=UTC)
    assert chat_message(message) == ChatMessage(text="Live long and prospect.", author="U222222222")
    item = _sample("event_reaction_added.json")["event"]["item"]
    assert MessageRef.decode(item["channel"], item["ts"]) == MessageRef("C123ABC456", "1360782400.498405")


def test_a_message_without_text_is_said_so_and_a_bot_is_no_author() -> None:
    assert chat_message({"ts": "1.1", "files": [{}]}) == ChatMessage(text="(no text)", author=None)
    assert chat_message({"text": "x" * 5000, "user": "not an id"}) == ChatMessage(
        text="x" * 2899 + "…", author=None
    )
    assert MessageRef.decode("C1", "1.1") is None and MessageRef.decode(5, "1360782400.498405") is None
