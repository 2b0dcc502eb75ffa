"""The card and the modals with a team's types and custom fields: escaped, within Slack's limits."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bot.incidents.fields import FieldKind, FieldSpec, RecordShape, Required
from bot.incidents.model import IncidentSnapshot
from bot.slack.blocks.card import card_blocks
from bot.slack.blocks.modals import declare_modal, field_block, resolve_modal
from bot.slack.blocks.mrkdwn import MAX_SECTION_FIELDS
from bot.slack.ids import Block
from tests.reports import scripted

SHAPE = RecordShape(
    types=("default", "security"),
    fields=(
        FieldSpec(name="cause", kind=FieldKind.TEXT, required=Required.RESOLVE, labels={"ja": "原因"}),
        FieldSpec(name="region", kind=FieldKind.SELECT, choices=("eu", "us"), required=Required.DECLARE),
        FieldSpec(name="owner", kind=FieldKind.USER),
    ),
)


def _incident(**changes: Any) -> IncidentSnapshot:
    return replace(scripted.japanese(), **changes)


def test_the_card_shows_type_and_fields_escaped() -> None:
    snap = _incident(
        incident_type="security", fields={"cause": "<!channel> *bold* & more", "owner": "U0BOB", "gone": 3}
    )
    section = card_blocks(snap, severities=("SEV2",), lang="ja", shape=SHAPE)[1]
    texts = [f["text"] for f in section["fields"]]
    assert "*種別*\nsecurity" in texts
    assert "*原因*\n&lt;!channel&gt; *bold* &amp; more" in texts  # no ping smuggled in
    assert "*owner*\n<@U0BOB>" in texts  # a person chosen in the field is a real mention
    assert "*gone*\n3" in texts  # a field no longer configured still shows what it held
    assert "<!channel>" not in json.dumps(section)


def test_a_team_without_types_sees_no_type_on_the_card_and_fields_stay_within_the_limit() -> None:
    plain = card_blocks(_incident(), severities=("SEV2",), lang="en")
    assert "Type" not in json.dumps(plain)
    many = {f"f{n}": n for n in range(20)}
    section = card_blocks(_incident(fields=many), severities=("SEV2",), lang="en")[1]
    assert len(section["fields"]) == MAX_SECTION_FIELDS


def test_the_modals_ask_what_is_required_when() -> None:
    declare = {
        b["block_id"]: b
        for b in declare_modal(severities=("SEV2",), default_severity="SEV2", lang="en", shape=SHAPE)[
            "blocks"
        ]
    }
    assert declare[Block.TYPE]["element"]["initial_option"]["value"] == "default"
    assert declare[field_block("region")]["optional"] is False
    assert declare[field_block("cause")]["optional"] is True
    resolve = resolve_modal(incident_id=3, lang="en", fields=SHAPE.fields, values={"region": "us"})
    blocks = {b["block_id"]: b for b in resolve["blocks"]}
    assert blocks[field_block("cause")]["optional"] is False
    assert blocks[field_block("region")]["element"]["initial_option"]["value"] == "us"
    one_type = declare_modal(severities=("SEV2",), default_severity="SEV2", lang="en")
    assert Block.TYPE not in {b["block_id"] for b in one_type["blocks"]}
