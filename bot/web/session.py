"""Signed cookies: who is signed in, and the sign-in in flight (its state and nonce).

A cookie's value is `<payload>.<signature>`: the payload is URL-safe base64 of JSON holding an expiry, the
signature HMAC-SHA256 of the payload under HASHI_SESSION_SECRET with the cookie's name mixed in, so a value
of one cookie never passes as another. Nothing is kept on the server, so any replica reads any session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SESSION_COOKIE = "hashi_session"
SIGN_IN_COOKIE = "hashi_sign_in"
SESSION_SECONDS = 12 * 3600  # a session lasts a working day; then Slack is asked again
SIGN_IN_SECONDS = 600  # the time a person has to get through Slack's sign-in page


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSigner:
    """Signs and checks the values of Hashi's cookies."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"hashi-web-cookie\0" + secret.encode()).digest()

    def _signature(self, name: str, payload: str) -> str:
        return _b64(hmac.new(self._key, f"{name}\0{payload}".encode(), hashlib.sha256).digest())

    def sign(self, name: str, data: Mapping[str, Any], *, now: datetime, lifetime: int) -> str:
        """The cookie value carrying `data` until `lifetime` seconds after `now`."""
        payload = _b64(
            json.dumps({**data, "exp": int(now.timestamp()) + lifetime}, separators=(",", ":")).encode()
        )
        return f"{payload}.{self._signature(name, payload)}"

    def read(self, name: str, value: str | None, *, now: datetime) -> dict[str, Any] | None:
        """The data of a cookie value this signer made for `name` and that has not expired, else None."""
        if not value or value.count(".") != 1:
            return None
        payload, signature = value.split(".")
        if not hmac.compare_digest(signature, self._signature(name, payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
        except ValueError:
            return None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("exp"), int)
            or data["exp"] <= now.timestamp()
        ):
            return None
        return data

    def token(self, purpose: str, value: str) -> str:
        """A token tied to a session value (the sign-out form's CSRF token)."""
        return self._signature(purpose, value)


@dataclass(frozen=True)
class Viewer:
    """Who is signed in: a member of the workspace."""

    user_id: str
    name: str
    tz: str | None
    # The session cookie's value, which the sign-out form's token is tied to.
    session: str

    @classmethod
    def of(cls, data: Mapping[str, Any], session: str) -> Viewer | None:
        """The viewer a session cookie's data names, or None when it is not one."""
        user_id, name, tz = data.get("user"), data.get("name"), data.get("tz")
        if not isinstance(user_id, str) or not user_id:
            return None
        return cls(
            user_id=user_id,
            name=name if isinstance(name, str) else user_id,
            tz=tz if isinstance(tz, str) else None,
            session=session,
        )
