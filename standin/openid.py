"""Sign in with Slack on the stand-in: the authorize page, openid.connect.token and openid.connect.userInfo.

As Slack describes them (docs.slack.dev: "Sign in with Slack", and the two methods' reference pages; the 2020
spec in ../shared predates them, so they are allow-listed in standin/spec.py): the browser goes to
`/openid/connect/authorize` with `response_type=code`, `scope` holding `openid`, `client_id`, `redirect_uri`,
`state` and `nonce` (and `team` to pin the workspace); the person picks who they are; Slack redirects back
with `code` and `state`; the app exchanges the code once, within ten minutes, at `openid.connect.token`
(client id and secret as HTTP Basic auth or arguments, the same `redirect_uri`) for a user token and an
`id_token` whose claims carry the `nonce`; `openid.connect.userInfo` with that token tells who signed in.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from standin.state import UserState

CODE_LIFETIME = 600.0  # seconds an authorization code may wait for its exchange
ISSUER = "https://slack.com"


class OpenIdError(Exception):
    """A Web API error of the OpenID methods (`invalid_code`, `bad_client_secret`, …)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class _Client:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    user_id: str
    issued: float


class OpenIdProvider:
    """The stand-in workspace's Sign in with Slack: registered apps, codes in flight, user tokens issued."""

    def __init__(self, *, team_id: str, team_name: str, users: Mapping[str, UserState]) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self._users = users
        self._clients: dict[str, _Client] = {}
        self._grants: dict[str, _Grant] = {}
        self.tokens: dict[str, str] = {}  # user token -> user id
        self.now: Callable[[], float] = time.time

    def register_client(self, *, client_id: str, client_secret: str, redirect_uri: str) -> None:
        """Registers an app's Sign in with Slack: its credentials and the one redirect URL it may use."""
        self._clients[client_id] = _Client(client_id, client_secret, redirect_uri)

    def routes(self, app: web.Application) -> None:
        """Adds the authorize page (GET shows who to sign in as, POST signs in and redirects back)."""
        app.router.add_get("/openid/connect/authorize", self._authorize_page)
        app.router.add_post("/openid/connect/authorize", self._authorize)

    # ----------------------------------------------------------------- the browser's side

    def _problem(self, query: Mapping[str, str]) -> str | None:
        """What is wrong with an authorize request, in Slack's words, or None."""
        if query.get("response_type") != "code":
            return "invalid_response_type: response_type must be code"
        if "openid" not in query.get("scope", "").split():
            return "invalid_scope: scope must include openid"
        client = self._clients.get(query.get("client_id", ""))
        if client is None:
            return "invalid_client_id"
        if query.get("redirect_uri") != client.redirect_uri:
            return "bad_redirect_uri: redirect_uri does not match the app's"
        if query.get("team") not in (None, self.team_id):
            return "invalid_team: not this workspace"
        return None

    async def _authorize_page(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        problem = self._problem(query)
        if problem is not None:
            return _page("Sign in with Slack: error", f"<p>{html.escape(problem)}</p>", status=400)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        buttons = "".join(
            f'<form method="post">{hidden}<input type="hidden" name="user" value="{html.escape(u.id)}">'
            f'<button type="submit" id="as-{html.escape(u.id)}">Continue as {html.escape(u.real_name)}'
            "</button></form>"
            for u in self._users.values()
            if not u.is_bot and not u.deleted
        )
        body = f"<h1>Sign in to {html.escape(self.team_name)}</h1>{buttons}"
        return _page("Sign in with Slack", body)

    async def _authorize(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        problem = self._problem(form)
        user = self._users.get(form.get("user", ""))
        if problem is None and (user is None or user.is_bot or user.deleted):
            problem = "invalid_user"
        if problem is not None or user is None:
            return _page("Sign in with Slack: error", f"<p>{html.escape(problem or '')}</p>", status=400)
        code = f"{self.team_id}.{secrets.token_hex(12)}"
        self._grants[code] = _Grant(
            client_id=form["client_id"],
            redirect_uri=form["redirect_uri"],
            nonce=form.get("nonce"),
            user_id=user.id,
            issued=self.now(),
        )
        back = {"code": code, **({"state": form["state"]} if "state" in form else {})}
        raise web.HTTPFound(f"{form['redirect_uri']}?{urlencode(back)}")

    # ----------------------------------------------------------------- the Web API methods

    def token(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """openid.connect.token: a code, exchanged once, for a user token and an id_token."""
        client = self._clients.get(str(args.get("client_id") or ""))
        if client is None:
            raise OpenIdError("invalid_client_id")
        if not secrets.compare_digest(str(args.get("client_secret") or ""), client.client_secret):
            raise OpenIdError("bad_client_secret")
        grant_type = args.get("grant_type")
        if grant_type not in (None, "authorization_code"):
            raise OpenIdError("invalid_grant_type")
        grant = self._grants.pop(str(args.get("code") or ""), None)
        if grant is None or grant.client_id != client.client_id or self.now() - grant.issued > CODE_LIFETIME:
            raise OpenIdError("invalid_code")
        if args.get("redirect_uri") is not None and args["redirect_uri"] != grant.redirect_uri:
            raise OpenIdError("bad_redirect_uri")
        token = f"xoxp-{self.team_id}-{secrets.token_hex(12)}"
        self.tokens[token] = grant.user_id
        issued = int(self.now())
        claims = {
            "iss": ISSUER,
            "sub": grant.user_id,
            "aud": client.client_id,
            "exp": issued + 3600,
            "iat": issued,
            "auth_time": issued,
            **({"nonce": grant.nonce} if grant.nonce else {}),
            **self._claims(grant.user_id),
        }
        return {
            "ok": True,
            "access_token": token,
            "token_type": "Bearer",
            "id_token": _unsigned_jwt(claims),
        }

    def user_info(self, token: str | None) -> dict[str, Any]:
        """openid.connect.userInfo: who holds this user token."""
        user_id = self.tokens.get(token or "")
        if user_id is None:
            raise OpenIdError("invalid_auth")
        return {"ok": True, "sub": user_id, **self._claims(user_id)}

    def _claims(self, user_id: str) -> dict[str, Any]:
        user = self._users[user_id]
        return {
            "https://slack.com/user_id": user_id,
            "https://slack.com/team_id": self.team_id,
            "https://slack.com/team_name": self.team_name,
            "name": user.real_name,
            "locale": user.locale,
            **({"email": user.email, "email_verified": True} if user.email else {}),
        }


def _unsigned_jwt(claims: Mapping[str, Any]) -> str:
    """A JWT of the claims. Slack signs with RS256; the stand-in's signature is random bytes, since a client
    reads the id_token it got straight from the token endpoint over TLS (OpenID Connect Core 3.1.3.7)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "RS256", "kid": "standin", "typ": "JWT"}).encode())
    return f"{header}.{part(json.dumps(dict(claims)).encode())}.{part(secrets.token_bytes(32))}"


def _page(title: str, body: str, *, status: int = 200) -> web.Response:
    text = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body>{body}</body></html>"
    )
    return web.Response(text=text, status=status, content_type="text/html")
