"""Block Kit payloads checked as Slack checks them: slack_sdk's models, then the documented limits slack_sdk
does not check (block counts, text lengths, option counts). Each function returns the problems it found, so a
test can show them all at once; `[]` means Slack would take the payload."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# Documented at docs.slack.dev (reference/block-kit, reference/methods/chat.postMessage, reference/views).
MESSAGE_BLOCKS = 50
SURFACE_BLOCKS = 100  # a modal or the Home tab
MESSAGE_TEXT = 40_000
SECTION_TEXT = 3000
SECTION_FIELD_TEXT = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
CHECKBOX_OPTIONS = 10
SELECT_OPTIONS = 100
PLACEHOLDER_TEXT = 150
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
INPUT_LABEL = 2000
INPUT_HINT = 2000
MODAL_TITLE = 24  # and its submit and close buttons
PRIVATE_METADATA = 3000
CALLBACK_ID = 255
ID_LENGTH = 255  # block_id, action_id

# Methods whose arguments are a message (text and blocks), and those that carry a view.
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"})
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})

# Characters that reorder text (bidirectional embeddings, overrides and isolates).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# `<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>`: every special mention but a date.
SPECIAL_MENTION = re.compile(r"<!(?!date\^)[^>]*>")
USER_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _too_long(where: str, what: str, text: str, limit: int) -> list[str]:
    return [f"{where}: {what} is {len(text)} characters (at most {limit})"] if len(text) > limit else []


def _options(where: str, options: Sequence[Any], limit: int) -> list[str]:
    found = [] if len(options) <= limit else [f"{where}: {len(options)} options (at most {limit})"]
    for n, option in enumerate(options):
        at = f"{where} option {n}"
        found += _too_long(at, "text", _text(option.get("text")), OPTION_TEXT)
        found += _too_long(at, "value", str(option.get("value", "")), OPTION_VALUE)
        if option.get("description"):
            found += _too_long(at, "description", _text(option["description"]), OPTION_DESCRIPTION)
    return found


def element_problems(element: dict[str, Any], where: str) -> list[str]:
    """An interactive element's limits (buttons, selects, checkboxes, inputs)."""
    kind = element.get("type")
    at = f"{where} {kind}"
    found = _too_long(at, "action_id", str(element.get("action_id", "")), ID_LENGTH)
    if element.get("placeholder"):
        found += _too_long(at, "placeholder", _text(element["placeholder"]), PLACEHOLDER_TEXT)
    if kind == "button":
        found += _too_long(at, "text", _text(element.get("text")), BUTTON_TEXT)
        found += _too_long(at, "value", str(element.get("value", "")), BUTTON_VALUE)
    elif kind in ("checkboxes", "radio_buttons"):
        found += _options(at, element.get("options", []), CHECKBOX_OPTIONS)
    elif kind in ("static_select", "multi_static_select"):
        found += _options(at, element.get("options", []), SELECT_OPTIONS)
        for group in element.get("option_groups", []):
            found += _options(at, group.get("options", []), SELECT_OPTIONS)
    elif kind == "overflow":
        found += _options(at, element.get("options", []), 5)
    return found


def block_problems(block: dict[str, Any], where: str) -> list[str]:
    """One block: slack_sdk's own validation, then the limits it leaves to Slack."""
    found: list[str] = []
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"{where}: slack_sdk does not know a block of type {block.get('type')!r}"]
        parsed.validate_json()
        parsed.to_dict()  # validates the nested elements and text objects too
    except (SlackObjectFormationError, KeyError, TypeError, ValueError) as exc:
        found.append(f"{where}: slack_sdk: {exc}")
    kind = block.get("type")
    at = f"{where} ({kind})"
    found += _too_long(at, "block_id", str(block.get("block_id", "")), ID_LENGTH)
    if kind == "section":
        found += _too_long(at, "text", _text(block.get("text")), SECTION_TEXT)
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS:
            found.append(f"{at}: {len(fields)} fields (at most {SECTION_FIELDS})")
        for n, item in enumerate(fields):
            found += _too_long(at, f"field {n}", _text(item), SECTION_FIELD_TEXT)
        if block.get("accessory"):
            found += element_problems(block["accessory"], at)
    elif kind == "header":
        found += _too_long(at, "text", _text(block.get("text")), HEADER_TEXT)
    elif kind == "actions":
        elements = block.get("elements", [])
        if len(elements) > ACTIONS_ELEMENTS:
            found.append(f"{at}: {len(elements)} elements (at most {ACTIONS_ELEMENTS})")
        for element in elements:
            found += element_problems(element, at)
    elif kind == "context":
        elements = block.get("elements", [])
        if len(elements) > CONTEXT_ELEMENTS:
            found.append(f"{at}: {len(elements)} elements (at most {CONTEXT_ELEMENTS})")
    elif kind == "input":
        found += _too_long(at, "label", _text(block.get("label")), INPUT_LABEL)
        found += _too_long(at, "hint", _text(block.get("hint")), INPUT_HINT)
        found += element_problems(block.get("element") or {}, at)
    return found


def blocks_problems(blocks: Any, *, limit: int, where: str = "blocks") -> list[str]:
    """A list of blocks on a surface that holds at most `limit` of them."""
    if isinstance(blocks, str):  # form-encoded arguments carry blocks as JSON
        blocks = json.loads(blocks)
    if not isinstance(blocks, list):
        return [f"{where}: not a list of blocks"]
    found = [] if len(blocks) <= limit else [f"{where}: {len(blocks)} blocks (at most {limit})"]
    for n, block in enumerate(blocks):
        found += block_problems(block, f"{where}[{n}]")
    return found


def message_problems(message: dict[str, Any], where: str = "message") -> list[str]:
    """A message (chat.postMessage arguments, a response_url body): its text and its blocks."""
    found = _too_long(where, "text", str(message.get("text") or ""), MESSAGE_TEXT)
    if message.get("blocks") is not None:
        found += blocks_problems(message["blocks"], limit=MESSAGE_BLOCKS, where=f"{where} blocks")
    return found


def view_problems(view: Any, where: str = "view") -> list[str]:
    """A modal or Home tab view: slack_sdk's View, then the limits it leaves to Slack."""
    if isinstance(view, str):
        view = json.loads(view)
    found: list[str] = []
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError, ValueError) as exc:
        found.append(f"{where}: slack_sdk: {exc}")
    found += blocks_problems(view.get("blocks", []), limit=SURFACE_BLOCKS, where=f"{where} blocks")
    found += _too_long(where, "private_metadata", str(view.get("private_metadata") or ""), PRIVATE_METADATA)
    found += _too_long(where, "callback_id", str(view.get("callback_id") or ""), CALLBACK_ID)
    if view.get("type") == "modal":
        for name in ("title", "submit", "close"):
            if view.get(name):
                found += _too_long(where, name, _text(view[name]), MODAL_TITLE)
    return found


def call_problems(method: str, args: dict[str, Any]) -> list[str]:
    """One Web API call's Block Kit payload, when it carries one."""
    if method in MESSAGE_METHODS:
        return message_problems(args, where=method)
    if method in VIEW_METHODS and "view" in args:
        return view_problems(args["view"], where=method)
    return []


def strings(value: object) -> Iterable[str]:
    """Every string in a payload, however deep."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


# Strings a payload carries that no one reads (a button's or option's value, ids, metadata).
UNSHOWN_KEYS = frozenset({"value", "action_id", "block_id", "callback_id", "private_metadata", "external_id"})


def _shown(value: object, *, plain: bool = False) -> Iterable[tuple[str, bool]]:
    """Every string of a payload that someone reads, with whether Slack shows it as plain text (where
    nothing is a mention)."""
    if isinstance(value, str):
        yield value, plain
    elif isinstance(value, dict):
        is_plain = value.get("type") == "plain_text"
        is_input = value.get("type") == "plain_text_input"  # its text is edited as typed, never parsed
        for key, item in value.items():
            if key not in UNSHOWN_KEYS:
                shown_plain = (is_plain and key == "text") or (is_input and key == "initial_value")
                yield from _shown(item, plain=plain or shown_plain)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _shown(item, plain=plain)


def unsafe_markup(value: object, *, people: Iterable[str]) -> list[str]:
    """What would ping or reorder in a payload: special mentions (`<!channel>`, `<!here>`, `<!subteam^…>`)
    and mentions of anyone not in `people` in mrkdwn, and bidirectional control characters anywhere shown."""
    known = set(people)
    found: list[str] = []
    for text, plain in _shown(value):
        if not plain:
            found += [f"special mention {m.group()!r}" for m in SPECIAL_MENTION.finditer(text)]
            mentions = USER_MENTION.finditer(text)
            found += [f"mention {m.group()!r}" for m in mentions if m.group(1) not in known]
        found += [f"bidi control U+{ord(m.group()):04X}" for m in BIDI_CONTROLS.finditer(text)]
    return found
