"""VendorClient: every call Hashi makes to another vendor's API, with timeouts, retries and metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from bot.observability import INTEGRATION_CALLS, INTEGRATION_LATENCY

log = logging.getLogger(__name__)

OK_STATUSES = frozenset({200, 201, 202, 204})


@dataclass(frozen=True)
class VendorResponse:
    """A vendor's successful answer: its status, its JSON body (None when empty) and its headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class VendorError(Exception):
    """A call that did not succeed: refused (4xx, not retried) or still failing after every retry."""

    def __init__(
        self,
        *,
        vendor: str,
        method: str,
        reason: str,
        status: int | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{vendor} {method}: {reason}")
        self.vendor = vendor
        self.method = method
        self.reason = reason
        self.status = status
        self.body = body
        self.retry_after = retry_after  # what a 429 asked, in seconds

    @property
    def retryable(self) -> bool:
        """Whether trying later may succeed (unreachable, rate limited or a server error)."""
        return self.status is None or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a call is tried: `attempts` in all, waiting backoff·2ⁿ after a network error
    or a 5xx, and what a 429's Retry-After asks (up to `max_wait` seconds; longer gives up)."""

    attempts: int = 4
    backoff: float = 0.25
    max_wait: float = 30.0


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class VendorClient:
    """One vendor's API at `base_url`, called with `headers` (its authentication) on every request."""

    def __init__(
        self,
        *,
        vendor: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Closes the HTTP session, if one was opened."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers)
        return self._session

    async def call(
        self,
        method: str,
        verb: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> VendorResponse:
        """Calls `verb path` (named `method` in metrics and errors), retrying what may succeed later; raises
        VendorError when refused or when every attempt failed."""
        policy = retry or self.retry
        url = f"{self.base_url}/{path.lstrip('/')}"
        failure: VendorError | None = None
        for attempt in range(policy.attempts):
            if attempt:
                assert failure is not None
                wait = self._wait_before(attempt, failure, policy)
                if wait is None:
                    break
                await self._sleep(wait)
            started = time.perf_counter()
            try:
                async with self._http().request(verb, url, json=json_body, params=params) as response:
                    raw = await response.read()
                    status, headers = response.status, dict(response.headers)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._count(method, "unreachable", started)
                failure = VendorError(
                    vendor=self.vendor, method=method, reason=f"unreachable ({type(exc).__name__})"
                )
                continue
            body = _decode(raw)
            if status in OK_STATUSES:
                self._count(method, "ok", started)
                return VendorResponse(status=status, body=body, headers=headers)
            outcome = "429" if status == 429 else "5xx" if status >= 500 else "error"
            self._count(method, outcome, started)
            failure = VendorError(
                vendor=self.vendor,
                method=method,
                reason=_reason(status, body),
                status=status,
                body=body,
                retry_after=retry_after_seconds(headers.get("Retry-After")),
            )
            if not failure.retryable:
                raise failure
        assert failure is not None
        log.warning("%s", failure)
        raise failure

    def _wait_before(self, attempt: int, failure: VendorError, policy: RetryPolicy) -> float | None:
        """Seconds to wait before `attempt`, or None to give up (a Retry-After longer than max_wait)."""
        if failure.status == 429 and failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= policy.max_wait else None
        return min(policy.max_wait, policy.backoff * 2.0 ** (attempt - 1))

    def _count(self, method: str, outcome: str, started: float) -> None:
        INTEGRATION_CALLS.labels(vendor=self.vendor, method=method, outcome=outcome).inc()
        INTEGRATION_LATENCY.labels(vendor=self.vendor, method=method).observe(time.perf_counter() - started)


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")[:500]


def _reason(status: int, body: Any) -> str:
    """HTTP status and the vendor's own words, briefly (its message, then its list of errors)."""
    words: list[str] = []
    if isinstance(body, dict):
        for key in ("message", "error", "errors", "errorMessages"):
            value = body.get(key)
            if isinstance(value, str) and value:
                words.append(value)
            elif isinstance(value, list | dict) and value:
                words.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(body, str) and body:
        words.append(body)
    detail = ": ".join(words)
    return f"HTTP {status}" + (f": {detail[:300]}" if detail else "")
