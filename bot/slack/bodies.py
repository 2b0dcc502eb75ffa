"""What Slack posts, read defensively: request bodies, the kinds Hashi ignores, view state, ids."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl


def id_number(value: object) -> int | None:
    """A number Hashi put in a payload (an incident id, a page, a position) if `value` is one: 1 to 10 ASCII
    digits (str.isdigit also takes "²", which int() refuses), else None."""
    if isinstance(value, str) and 0 < len(value) <= 10 and value.isascii() and value.isdigit():
        return int(value)
    return None


def state_value(payload: dict[str, Any], block: str, field: str) -> Any:
    """The value of one input in a payload's state (a submitted view, or a click in a message with inputs):
    text, a selected option's value, the checked values, or a chosen user's id; None when it is missing or
    not of its type."""
    state: Any = payload
    for key in ("state", "values", block, field):
        state = state.get(key) if isinstance(state, dict) else None
    if not isinstance(state, dict):
        return None
    if "selected_option" in state:
        return selected_option(state)
    if "selected_options" in state:
        return sorted(selected_options(state) or ())
    if "selected_user" in state:
        user = state.get("selected_user")
        return user if isinstance(user, str) else None
    value = state.get("value")
    return value if isinstance(value, str) else None


def selected_option(element: Any) -> str | None:
    """The value of a select's chosen option (in a click or a view's state), or None when there is none of
    the right shape (nothing chosen, or a payload Slack would not send)."""
    option = element.get("selected_option") if isinstance(element, dict) else None
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else None


def selected_options(element: Any) -> frozenset[str] | None:
    """The values of a checkbox group's ticked options (in a click or a view's state; none ticked: empty), or
    None when they are not a list of options with text values."""
    options = element.get("selected_options", []) if isinstance(element, dict) else None
    if not isinstance(options, list):
        return None
    values = [option.get("value") if isinstance(option, dict) else None for option in options]
    return (
        frozenset(v for v in values if isinstance(v, str))
        if all(isinstance(v, str) for v in values)
        else None
    )


# Interactivity kinds Hashi never asks for (no legacy attachments, dialogs, shortcuts or external selects):
# Slack sends them only to an app that posts or registers such things; a signed one is answered and ignored.
UNUSED_KINDS = frozenset(
    {
        "interactive_message",
        "dialog_submission",
        "dialog_cancellation",
        "dialog_suggestion",
        "message_action",
        "shortcut",
        "block_suggestion",
        "workflow_step_edit",
    }
)


def request_body(raw: str, content_type: str | None) -> Any:
    """A Slack HTTP request's body as Slack means it: JSON (events), the JSON in the form field `payload`
    (interactivity), or the form's fields (slash commands). Bolt's own parse_body reads every form body that
    merely holds the word `payload` (a note, a channel `payload-team`, a workspace `payloadco`) as empty."""
    if not raw:
        return {}
    if content_type == "application/json" or raw.startswith("{"):
        return json.loads(raw)
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    return json.loads(fields["payload"]) if "payload" in fields else fields


def unused_kind(body: Any) -> str | None:
    """The kind of a request Hashi has no use for (see UNUSED_KINDS), else None."""
    kind = body.get("type") if isinstance(body, dict) and "command" not in body else None
    return kind if kind in UNUSED_KINDS else None


def payload_problem(body: Any) -> str | None:
    """What is wrong with a Slack request body, or None: the fields Hashi's listeners rely on must be there
    with the right types (Slack always sends them; a request without them is not from Slack)."""
    if not isinstance(body, dict):
        return "not an object"
    if "command" in body:
        for name in ("user_id", "channel_id", "response_url", "trigger_id"):
            if not isinstance(body.get(name), str) or not body.get(name):
                return f"a command without {name}"
        return None
    kind = body.get("type")
    if kind in ("block_actions", "view_submission", "view_closed"):
        user = body.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return f"{kind} without user.id"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return "block_actions without actions"
        if not isinstance(actions[0].get("action_id"), str) or not isinstance(body.get("trigger_id"), str):
            return "block_actions without action_id or trigger_id"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not all(
            isinstance(view.get(k), str) for k in ("id", "type", "callback_id")
        ):
            return f"{kind} without a view (id, type, callback_id)"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event_callback without an event type"
    return None
