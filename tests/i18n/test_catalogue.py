"""The message catalogue: every key in every language, the same placeholders, and texts that render."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import LANGUAGES, Msg, catalogue, language_of, placeholders, t

ENGLISH = catalogue("en")


def _variants(entry: str | dict[str, str]) -> list[str]:
    return list(entry.values()) if isinstance(entry, dict) else [entry]


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_key_is_translated_and_nothing_extra(lang: str) -> None:
    other = catalogue(lang)  # type: ignore[arg-type]
    assert sorted(set(ENGLISH) - set(other)) == [], f"keys without a {lang} text"
    assert sorted(set(other) - set(ENGLISH)) == [], f"{lang} keys English does not have"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_placeholders_are_the_same_in_every_language(lang: str) -> None:
    other = catalogue(lang)  # type: ignore[arg-type]
    differing = {}
    for key, entry in ENGLISH.items():
        wanted = set().union(*(placeholders(v) for v in _variants(entry)))
        found = set().union(*(placeholders(v) for v in _variants(other[key])))
        if wanted != found:
            differing[key] = (sorted(wanted), sorted(found))
    assert differing == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plurals_have_an_other_form_and_every_text_renders(lang: str) -> None:
    for key, entry in catalogue(lang).items():
        if isinstance(entry, dict):
            assert set(entry) <= {"one", "other"} and "other" in entry, key
        for variant in _variants(entry):
            params = dict.fromkeys(placeholders(variant), 1)
            variant.format_map(params)  # no stray braces


def test_japanese_texts_are_japanese() -> None:
    """A Japanese text that is only ASCII letters is an English leftover (codes and formats excepted)."""
    kana_or_kanji = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
    untranslatable = {
        "time.local",
        "time.error_with_forms",
        "list.separator",
        "who.any_of",
        "slack.date_token",
        "stats.column.slo",
    }
    leftovers = [
        key
        for key, entry in catalogue("ja").items()
        if key not in untranslatable
        and not key.startswith("usage.")  # commands are typed in English
        and any(
            re.search(r"[A-Za-z]{3,}", re.sub(r"\{[^}]*\}|`[^`]*`|:[a-z_]+:", "", v))
            for v in _variants(entry)
        )
        and not any(kana_or_kanji.search(v) for v in _variants(entry))
    ]
    assert leftovers == []


def test_plural_and_nested_messages() -> None:
    items = Msg("errors.required_open", id=3, count=1, items="Page the DBA")
    assert "1 required checklist item open" in items.render("en")
    assert "2 required checklist items" in t("errors.required_open", "en", id=3, count=2, items="a; b")
    who = Msg("who.any_of", people=(Msg("who.lead"), "<@U1>", Msg("who.role", role="comms")))
    assert who.render("en") == "the incident lead, <@U1> or the comms role"
    assert who.render("ja") == "インシデントのリード、<@U1>、またはcomms ロールの人"


def test_a_message_survives_storage() -> None:
    message = Msg("errors.not_allowed", act=Msg("acts.close"), who=Msg("who.any_of", people=("<@U1>",)))
    again = Msg.from_data(message.as_data())
    assert again == message
    assert again is not None and again.render("ja") == message.render("ja")
    assert Msg.from_data({"key": "no.such.key", "params": {}}) is None


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("ja-JP", "ja"),
        ("ja", "ja"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("fr-FR", None),
        (None, None),
        ("", None),
    ],
)
def test_language_of_a_slack_locale(locale: str | None, lang: str | None) -> None:
    assert language_of(locale) == lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_word_the_code_looks_up_is_in_the_catalogue(lang: str) -> None:
    """Keys built from the code's own vocabularies (statuses, acts, steps, metrics, flags, subcommands)."""
    from bot.incidents.model import Status
    from bot.incidents.permissions import SIMPLE_PRINCIPALS, Act
    from bot.incidents.service import SETUP_STEPS
    from bot.reports.metrics import IncidentMetrics
    from bot.reports.postmortem import LESSONS, SECTIONS
    from bot.reports.stats import FLAGS
    from bot.slack.parse import _NAMES

    keys = catalogue(lang)  # type: ignore[arg-type]
    wanted = [f"status.{s.value}" for s in Status] + [f"status_word.{s.value}" for s in Status]
    wanted += [f"acts.{a.value}" for a in Act] + [f"who.{p}" for p in SIMPLE_PRINCIPALS]
    wanted += [f"steps.{s}" for s in SETUP_STEPS] + [f"stats.flag.{f}" for f in FLAGS]
    wanted += [f"metrics.{name}" for name in IncidentMetrics.__dataclass_fields__]
    wanted += [f"postmortem.heading.{h}" for h in (*SECTIONS, *LESSONS)]
    wanted += [f"usage.{n}" for n in _NAMES] + [f"help.{n}" for n in _NAMES]
    assert [key for key in wanted if key not in keys] == []


# Hashi's own markup, filled in at run time: a user mention, a channel reference, a date token.
HASHI_MARKUP = re.compile(r"<@\{[a-z_]+\}>|<#\{[a-z_]+\}>|<!date\^\{ts\}\^[^<>|]*\|\{fallback\}>")
# Texts that are not mrkdwn: usage lines and parse errors are plain text the code escapes where it shows them
# (checked below), the postmortem's are Markdown (its tests check that the draft renders no HTML).
NOT_MRKDWN = ("usage.", "parse.", "postmortem.")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_mrkdwn_texts_carry_no_markup_but_hashis_own(lang: str) -> None:
    """Slack reads `<…>` as a link or mention and `&…;` as an entity, even inside backticks: a mrkdwn text has
    no `<`, `>` or `&` but Hashi's own `<@{user}>`, `<#{channel}>` and `<!date^…>`."""
    found = {}
    for key, entry in catalogue(lang).items():  # type: ignore[arg-type]
        if key.startswith(NOT_MRKDWN):
            continue
        for variant in _variants(entry):
            if re.search("[<>&]", HASHI_MARKUP.sub("", variant)):
                found[key] = variant
    assert found == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plain_texts_are_escaped_where_they_are_shown(lang: str) -> None:
    from bot.slack.blocks.mrkdwn import user_text
    from bot.slack.parse import parse_command, usage_text
    from bot.slack.words import ParseError

    assert not re.search("[<>]", usage_text(("SEV1", "SEV2"), ("lead", "comms"), lang))  # type: ignore[arg-type]
    refused = parse_command(
        "INC-3", severities=("SEV1",), roles=("lead",), now=datetime.now(UTC), tz=ZoneInfo("UTC"), lang=lang
    )
    assert isinstance(refused, ParseError) and "<" in refused.usage
    assert not re.search("[<>]", user_text(refused.usage) + user_text(refused.message))
