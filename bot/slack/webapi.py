"""One Slack Web API call, with the bot token, the app's credentials or a person's token; its errors named."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.i18n import DEFAULT_LANG, Lang
from bot.incidents.errors import ChatError
from bot.incidents.fields import RecordShape
from bot.observability import SLACK_CALLS
from bot.slack.retries import retry_handlers

log = logging.getLogger(__name__)


MAX_LIST_PAGES = 20


def slack_session(timeout: float) -> ClientSession:
    """One HTTP session for every Web API call, its connections kept open between calls: without it the
    SDK opens (and closes) a session and a TCP connection per call, a third of a declaration's CPU. Idle
    connections are closed after 10 s, well before a server would drop them. Call it in the event loop."""
    return ClientSession(
        timeout=ClientTimeout(total=timeout),
        connector=TCPConnector(limit=64, keepalive_timeout=10.0),
    )


def make_client(
    *, token: str, base_url: str, timeout: float = 10.0, session: ClientSession | None = None
) -> AsyncWebClient:
    """An AsyncWebClient with retries for 429 (Retry-After), `ratelimited`, 5xx, connection errors and
    timeouts of calls that are safe to repeat; `session` keeps its connections between calls."""
    client = AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,  # type: ignore[arg-type]
        session=session,
    )
    client.retry_handlers.extend(retry_handlers())
    return client


class SessionRespond(AsyncRespond):
    """Bolt's `respond()` (a message to a request's response_url) over the Web API calls' HTTP session: Bolt's
    own opens a session and a TCP connection for every answer, as much CPU as two Web API calls."""

    def __init__(self, *, response_url: str, session: ClientSession) -> None:
        super().__init__(response_url=response_url)
        self._session = session

    async def __call__(  # type: ignore[override]  # the same arguments, taken as Bolt's respond takes them
        self, text: str | dict[str, Any] = "", **fields: Any
    ) -> WebhookResponse:
        message = _build_message(text=text, **fields) if isinstance(text, str) else _build_message(**text)
        assert self.response_url is not None
        client = AsyncWebhookClient(url=self.response_url, session=self._session)
        return await client.send_dict(message)


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code, or `http_<status>` for an answer that is not Slack's JSON (a proxy's 502 page,
    a 500 with a text body)."""
    data = exc.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{exc.response.status_code}"


@dataclass(frozen=True)
class UserProfile:
    """What Hashi needs to know about a Slack user."""

    user_id: str
    name: str
    tz: str | None
    locale: str | None


class WebApi:
    """What the gateway's parts share: the client, the team's configuration, caches, and `_call`."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        severities: Sequence[str],
        announce_channel: str | None = None,
        language: Lang = DEFAULT_LANG,
        public_url: str | None = None,
        shape: RecordShape | None = None,
    ) -> None:
        self.client = client
        # The web dashboard's address (HASHI_PUBLIC_URL): the card and App Home link to incidents' pages.
        self.public_url = public_url
        self._shape = shape  # the team's incident types and custom fields, shown on the card
        # The workspace language: what everything posted to a channel (cards, changes, reminders) is in.
        self.language = language
        self._severities = tuple(severities)
        self._announce_channel = announce_channel
        self._users: dict[str, tuple[float, UserProfile]] = {}
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._bot_user_id: str | None = None
        self._team_id: str | None = None

    async def _call(
        self,
        step: str,
        method: str,
        *,
        app_credentials: tuple[str, str] | None = None,
        user_token: str | None = None,
        **args: Any,
    ) -> dict[str, Any]:
        """One Web API call; a Slack error or a network failure (after retries) becomes ChatError. It goes
        with the bot token, or the app's client id and secret (HTTP Basic), or a person's user token."""
        try:
            present = {k: v for k, v in args.items() if v is not None}
            if _as_json(method):
                response = await self.client.api_call(method, json=present)
            else:  # a form body, as Slack's docs show; booleans as Slack spells them
                form = {k: str(v).lower() if isinstance(v, bool) else v for k, v in present.items()}
                headers = None
                if app_credentials:  # HTTP Basic, as slack_sdk's own oauth methods send it
                    pair = f"{app_credentials[0]}:{app_credentials[1]}".encode()
                    headers = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
                elif user_token:
                    headers = {"Authorization": f"Bearer {user_token}"}
                response = await self.client.api_call(method, data=form, headers=headers)
        except SlackApiError as exc:
            SLACK_CALLS.labels(method=method, outcome="error").inc()
            error = slack_error(exc)
            log.info("Slack answered %s", error, extra={"slack_method": method})
            raise ChatError(step, error) from exc
        except (ClientError, TimeoutError) as exc:
            SLACK_CALLS.labels(method=method, outcome="unreachable").inc()
            log.warning("Slack unreachable: %s", type(exc).__name__, extra={"slack_method": method})
            raise ChatError(step, f"{type(exc).__name__}: {exc}", unknown=True) from exc
        SLACK_CALLS.labels(method=method, outcome="ok").inc()
        return dict(response.data) if isinstance(response.data, dict) else {}


def _as_json(method: str) -> bool:
    """Methods slack_sdk itself posts as JSON (they carry blocks or views); the rest go form-encoded."""
    return method.startswith(("chat.", "views.")) and method != "chat.getPermalink"
