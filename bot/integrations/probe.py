"""What `hashi doctor` asks of each integration: is the vendor reachable, and does it take our token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.integrations.client import VendorError


@dataclass(frozen=True)
class Health:
    """One integration's state: fine or not, and what was found or what to do."""

    name: str
    ok: bool
    detail: str


# An integration's doctor hook: one probe (a cheap, harmless call) that raises VendorError when it fails.
Probe = Callable[[], Awaitable[str]]


async def probe_health(*, name: str, probe: Probe, secret_names: tuple[str, ...]) -> Health:
    """Runs `probe`; its failure says whether the vendor is down or refused the token (and which variable)."""
    try:
        detail = await probe()
    except VendorError as exc:
        if exc.status in (401, 403):
            return Health(
                name, False, f"{exc.reason}: the token was refused; check {' / '.join(secret_names)}"
            )
        if exc.retryable:
            return Health(name, False, f"{exc.reason}: the vendor is down or unreachable")
        return Health(name, False, f"{exc.reason}; check {' / '.join(secret_names)}")
    return Health(name, True, detail)
