"""Retry handlers beyond slack_sdk's own: `ratelimited` in a 200 body, timeouts of safe-to-repeat calls."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.observability import SLACK_CALLS

# Calls a timeout may safely repeat: reads, and writes whose repeat changes nothing (Slack answers
# already_pinned / already_in_channel, or the same state is set again). Creating a channel, posting a message,
# scheduling one or opening a modal are not here: a timed-out call may have taken effect.
IDEMPOTENT_METHODS = frozenset(
    {
        "auth.test",
        "users.info",
        "usergroups.users.list",
        "conversations.info",
        "conversations.history",
        "conversations.members",
        "chat.getPermalink",
        "conversations.invite",
        "conversations.setTopic",
        "conversations.setPurpose",
        "pins.add",
        "chat.update",
        "chat.deleteScheduledMessage",
        "views.publish",
        "views.update",
    }
)


def method_of(request: HttpRequest) -> str:
    """The Web API method a request calls (`chat.postMessage`)."""
    return urlparse(request.url).path.rsplit("/", 1)[-1]


class RatelimitedBodyRetryHandler(AsyncRetryHandler):
    """Retries `{"ok": false, "error": "ratelimited"}` answered with HTTP 200."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,  # noqa: ARG002
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,  # noqa: ARG002
    ) -> bool:
        body: Any = response.body if response is not None else None
        retry = isinstance(body, dict) and body.get("ok") is False and body.get("error") == "ratelimited"
        if retry:
            SLACK_CALLS.labels(method=method_of(request), outcome="retry").inc()
        return retry


class IdempotentTimeoutRetryHandler(AsyncRetryHandler):
    """Retries a timed-out call when repeating it is harmless."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,  # noqa: ARG002
        request: HttpRequest,
        response: HttpResponse | None = None,  # noqa: ARG002
        error: Exception | None = None,
    ) -> bool:
        retry = isinstance(error, TimeoutError) and method_of(request) in IDEMPOTENT_METHODS
        if retry:
            SLACK_CALLS.labels(method=method_of(request), outcome="retry").inc()
        return retry


class CountingRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (it waits Retry-After), counted."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        retry = await super()._can_retry_async(state=state, request=request, response=response, error=error)
        if retry:
            SLACK_CALLS.labels(method=method_of(request), outcome="429").inc()
        return bool(retry)


def retry_handlers() -> list[AsyncRetryHandler]:
    """Every handler Hashi's client uses; each retries a few times at most."""
    return [
        CountingRateLimitRetryHandler(max_retry_count=4),
        RatelimitedBodyRetryHandler(max_retry_count=4),
        AsyncServerErrorRetryHandler(max_retry_count=3),
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
        IdempotentTimeoutRetryHandler(max_retry_count=2),
    ]
