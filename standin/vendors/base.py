"""VendorStandIn: the base of every vendor stand-in: real HTTP on 127.0.0.1, each call checked against the
vendor's OpenAPI description, rate limits and faults answered as the vendor documents them."""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from standin.vendors.openapi import OpenApiSpec


@dataclass
class VendorCall:
    """One request the stand-in received, and how it answered."""

    verb: str
    path: str
    body: Any
    headers: dict[str, str]
    status: int = 0
    operation: str | None = None


@dataclass(frozen=True)
class Routed:
    """A request the stand-in answers: its decoded JSON body and the path's parameters by name."""

    request: web.Request
    body: Any
    params: dict[str, str]


Handler = Callable[[Routed], Awaitable[web.Response]]


@dataclass
class _Faults:
    """Answers the next calls get instead of their real one (status, Retry-After seconds)."""

    queued: deque[tuple[int, float | None]] = field(default_factory=deque)


class VendorStandIn:
    """Serves one vendor's API on 127.0.0.1: a subclass registers handlers with `route`; every call is checked
    against `spec` (path and method documented, required fields present, enums hold) and a call that does not
    fit is answered with the vendor's error and recorded in `problems`."""

    vendor = "vendor"

    def __init__(
        self,
        *,
        spec: OpenApiSpec | None,
        rate_limit: tuple[int, float] | None = None,
        retry_after: float = 1.0,
    ) -> None:
        self.spec = spec
        self.calls: list[VendorCall] = []
        self.problems: list[str] = []
        self.rate_limit = rate_limit  # (calls, per seconds) past which the vendor answers 429
        self.retry_after = retry_after
        self.auth_header = "Authorization"
        self.accepted: set[str] = set()  # header values the vendor takes as credentials
        self._recent: deque[float] = deque()
        self._faults = _Faults()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- set-up --------------------------------------------------------------------------------------------

    def route(self, verb: str, template: str, handler: Handler) -> None:
        """Answers `verb template` (`/v2/enqueue`, `/repos/{owner}/{repo}/issues`) with `handler`."""
        pattern = re.sub(r"\\\{([^}/]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self._routes.append((verb.upper(), re.compile(f"^{pattern}$"), handler))

    async def start(self) -> None:
        """Starts serving on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stops serving (the port stays known, so `start` again serves at the same URL)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The server's root, http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The base URL Hashi is configured with (HASHI_<NAME>_API_URL): root and the spec's base path."""
        return self.url + (self.spec.base_path if self.spec else "")

    def fail_next(self, *, status: int = 503, times: int = 1, retry_after: float | None = None) -> None:
        """The next `times` calls are answered `status` (429 carries Retry-After) instead of their answer."""
        for _ in range(times):
            self._faults.queued.append((status, retry_after))

    # -- what a vendor subclass says -----------------------------------------------------------------------

    def authorized(self, request: web.Request) -> bool:
        """Whether the request carries a credential the vendor accepts: one of `accepted` in `auth_header`
        (anything when `accepted` is empty: PagerDuty's Events API takes its key in the body)."""
        return not self.accepted or request.headers.get(self.auth_header) in self.accepted

    def error(self, status: int, message: str) -> web.Response:
        """The vendor's error body for `status` (subclasses answer in their vendor's shape)."""
        return web.json_response({"message": message}, status=status)

    # -- serving --------------------------------------------------------------------------------------------

    def calls_to(self, verb: str, template: str) -> list[VendorCall]:
        """The calls answered by the operation `VERB template`."""
        name = f"{verb.upper()} {template}"
        return [c for c in self.calls if c.operation == name]

    async def _dispatch(self, request: web.Request) -> web.Response:
        raw = await request.read()
        call = VendorCall(verb=request.method, path=request.path, body=None, headers=dict(request.headers))
        self.calls.append(call)
        response = await self._answer(request, raw, call)
        call.status = response.status
        return response

    async def _answer(self, request: web.Request, raw: bytes, call: VendorCall) -> web.Response:
        operation = self.spec.match(request.method, request.path) if self.spec else None
        if self.spec is not None:
            if operation is None:
                known = self.spec.known_path(request.path)
                problem = f"{request.method} {request.path} is not in {self.vendor}'s API description"
                self.problems.append(problem)
                return self.error(405 if known else 404, problem)
            call.operation = operation.name
        if raw:
            try:
                call.body = json.loads(raw)
            except ValueError:
                self.problems.append(f"{request.method} {request.path}: the body is not JSON")
                return self.error(400, "the body is not valid JSON")
        if not self.authorized(request):
            return self.error(401, "unauthorized")
        if self._faults.queued:
            status, retry_after = self._faults.queued.popleft()
            return self._limited(status, retry_after)
        if self._over_limit():
            return self._limited(429, self.retry_after)
        if operation is not None and self.spec is not None:
            problems = self.spec.request_problems(operation, call.body)
            if problems:
                self.problems += [f"{operation.name}: {p}" for p in problems]
                return self.invalid(problems)
        for verb, pattern, handler in self._routes:
            matched = pattern.match(request.path)
            if verb == request.method and matched:
                return await handler(Routed(request=request, body=call.body, params=matched.groupdict()))
        self.problems.append(f"{request.method} {request.path}: the stand-in does not answer it")
        return self.error(501, "not implemented by the stand-in")

    def invalid(self, problems: list[str]) -> web.Response:
        """The vendor's answer to a request body that does not fit its description."""
        return self.error(400, "; ".join(problems))

    def _limited(self, status: int, retry_after: float | None) -> web.Response:
        response = self.error(status, "rate limited" if status == 429 else "unavailable")
        if status == 429:
            response.headers["Retry-After"] = (
                f"{retry_after if retry_after is not None else self.retry_after:g}"
            )
        return response

    def _over_limit(self) -> bool:
        if self.rate_limit is None:
            return False
        allowed, per = self.rate_limit
        now = time.monotonic()
        while self._recent and now - self._recent[0] > per:
            self._recent.popleft()
        if len(self._recent) >= allowed:
            return True
        self._recent.append(now)
        return False
