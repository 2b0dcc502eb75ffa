"""SlackDriver: sends Hashi the signed HTTP requests Slack would send (commands, interactions, events)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from standin.server import SlackStandIn


def sign(secret: str, body: str, timestamp: int) -> dict[str, str]:
    """Slack's v0 request signature headers for a raw body."""
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class Sent:
    """What the app answered to one request."""

    status: int
    body: str
    response_url: str | None = None

    def json(self) -> Any:
        """The answer body parsed as JSON."""
        return json.loads(self.body) if self.body else None


class SlackDriver:
    """Plays Slack's side against Hashi's Request URL, with payloads shaped as Slack's docs show."""

    def __init__(
        self, *, url: str, signing_secret: str, standin: SlackStandIn, app_id: str = "A0HASHI"
    ) -> None:
        self.url = url
        self.secret = signing_secret
        self.standin = standin
        self.app_id = app_id
        self.team_id = standin.team_id
        self._session: aiohttp.ClientSession | None = None
        self._events = itertools.count(1)

    async def __aenter__(self) -> SlackDriver:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        signature: str | None = None,
    ) -> Sent:
        """POSTs a raw body, signed (or with the given signature)."""
        assert self._session is not None, "use `async with SlackDriver(...)`"
        signed = sign(self.secret, body, timestamp if timestamp is not None else int(time.time()))
        if signature is not None:
            signed["X-Slack-Signature"] = signature
        all_headers = {"Content-Type": content_type, **signed, **(headers or {})}
        async with self._session.post(self.url, data=body.encode(), headers=all_headers) as response:
            return Sent(status=response.status, body=await response.text())

    # Slash commands

    def command_body(
        self, text: str, *, user_id: str, channel_id: str, channel_name: str = "general"
    ) -> dict[str, str]:
        """The form fields of a `/incident` invocation (Slack's slash-command payload)."""
        return {
            "token": "verification-token-unused",
            "team_id": self.team_id,
            "team_domain": "hashi-standin",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": self.standin.users[user_id].name
            if user_id in self.standin.users
            else user_id.lower(),
            "command": "/incident",
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self.standin.response_url(channel=channel_id),
            "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}",
        }

    async def command(self, text: str, *, user_id: str, channel_id: str, **kwargs: Any) -> Sent:
        """Types `/incident <text>` in a channel."""
        fields = self.command_body(text, user_id=user_id, channel_id=channel_id)
        sent = await self.post(urlencode(fields), "application/x-www-form-urlencoded", **kwargs)
        return Sent(status=sent.status, body=sent.body, response_url=fields["response_url"])

    # Interactivity

    async def interact(self, payload: dict[str, Any], **kwargs: Any) -> Sent:
        """Sends an interactivity payload the way Slack does: one form field `payload` holding the JSON."""
        body = "payload=" + quote(json.dumps(payload))
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)

    def _user(self, user_id: str) -> dict[str, Any]:
        name = self.standin.users[user_id].name if user_id in self.standin.users else user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def block_actions(
        self, *, user_id: str, channel_id: str, message: dict[str, Any], action: dict[str, Any]
    ) -> dict[str, Any]:
        """A `block_actions` payload for one element of a message (a button click, a select, a checkbox)."""
        action = {"action_ts": f"{time.time():.6f}", **action}
        return {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.app_id,
            "token": "verification-token-unused",
            "container": {
                "type": "message",
                "message_ts": message.get("ts"),
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}",
            "team": {"id": self.team_id, "domain": "hashi-standin"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": self.standin.channels[channel_id].name},
            "message": message,
            "state": {"values": _input_state(message)},
            "response_url": self.standin.response_url(channel=channel_id),
            "actions": [action],
        }

    async def click(
        self, *, user_id: str, channel_id: str, message: dict[str, Any], action_id: str, **extra: Any
    ) -> Sent:
        """Clicks the element with that action_id in a posted message (selecting `value` for a select)."""
        element, block_id = _find_element(message, action_id, extra.get("block_id"))
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": element["type"]}
        if element["type"] == "button":
            action |= {"text": element["text"], "value": element.get("value", "")}
        elif element["type"] == "static_select":
            chosen = next(o for o in element["options"] if o["value"] == extra["value"])
            action |= {"selected_option": chosen, "placeholder": element.get("placeholder")}
        elif element["type"] == "checkboxes":
            wanted = set(extra["values"])
            action |= {"selected_options": [o for o in element["options"] if o["value"] in wanted]}
        return await self.interact(
            self.block_actions(user_id=user_id, channel_id=channel_id, message=message, action=action)
        )

    def view_submission(
        self, *, user_id: str, view: dict[str, Any], values: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """A `view_submission` payload for a modal the app opened, with the user's input as state values."""
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "hashi-standin"},
            "user": self._user(user_id),
            "api_app_id": self.app_id,
            "token": "verification-token-unused",
            "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}",
            "view": {**view, "state": {"values": values}, "hash": secrets.token_hex(8)},
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    async def submit(self, *, user_id: str, view: dict[str, Any], values: dict[str, dict[str, Any]]) -> Sent:
        """Submits a modal."""
        return await self.interact(self.view_submission(user_id=user_id, view=view, values=values))

    # Events API

    def event_body(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """An `event_callback` envelope around an event."""
        return {
            "token": "verification-token-unused",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._events):08d}{secrets.token_hex(3).upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.standin.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": secrets.token_hex(12),
        }

    async def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0) -> Sent:
        """Delivers an event (a retry carries X-Slack-Retry-Num and the same event_id, as Slack's do)."""
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return await self.post(
            json.dumps(self.event_body(event, event_id=event_id)), "application/json", headers=headers
        )


def _input_state(message: dict[str, Any]) -> dict[str, Any]:
    """What Slack sends as a click's `state` for a message with inputs: each input's text, as it stands
    (untouched, its initial value)."""
    values: dict[str, Any] = {}
    for block in message.get("blocks") or []:
        element = block.get("element") or {}
        if block.get("type") == "input" and element.get("type") == "plain_text_input":
            values[block["block_id"]] = {
                element["action_id"]: {"type": "plain_text_input", "value": element.get("initial_value")}
            }
    return values


def _find_element(
    message: dict[str, Any], action_id: str, block_id: str | None
) -> tuple[dict[str, Any], str]:
    for block in message.get("blocks", []):
        if block_id is not None and block.get("block_id") != block_id:
            continue
        for element in [*block.get("elements", []), *([block["accessory"]] if "accessory" in block else [])]:
            if element.get("action_id") == action_id:
                return element, str(block.get("block_id", ""))
    raise LookupError(f"no element {action_id} in that message")


def input_value(value: str) -> dict[str, Any]:
    """A plain_text_input's state value."""
    return {"type": "plain_text_input", "value": value}


def select_value(value: str) -> dict[str, Any]:
    """A static_select's state value."""
    return {
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
    }


def checkboxes_value(values: list[str]) -> dict[str, Any]:
    """A checkboxes element's state value."""
    return {
        "type": "checkboxes",
        "selected_options": [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values],
    }


def user_value(user_id: str) -> dict[str, Any]:
    """A users_select's state value."""
    return {"type": "users_select", "selected_user": user_id}
