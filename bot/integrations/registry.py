"""Every outbound vendor Hashi knows: how to authenticate with it and how `hashi doctor` checks it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.integrations import github, jira, pagerduty, statuspage
from bot.integrations.client import VendorClient
from bot.integrations.config import VendorAccess
from bot.integrations.probe import Health, probe_health


@dataclass(frozen=True)
class VendorKind:
    """One vendor: the headers every call carries, and the cheap call `hashi doctor` makes."""

    headers: Callable[[VendorAccess], dict[str, str]]
    probe: Callable[[VendorClient, VendorAccess], Awaitable[str]]


# Integrations that call out; the others (alerts) only receive.
VENDORS: dict[str, VendorKind] = {
    "pagerduty": VendorKind(headers=pagerduty.headers, probe=pagerduty.probe),
    "github": VendorKind(headers=github.headers, probe=github.probe),
    "jira": VendorKind(headers=jira.headers, probe=jira.probe),
    "statuspage": VendorKind(headers=statuspage.headers, probe=statuspage.probe),
}


def client_for(access: VendorAccess, *, timeout: float = 10.0) -> VendorClient:
    """The one client of this vendor, authenticated."""
    return VendorClient(
        vendor=access.vendor,
        base_url=access.base_url,
        headers=VENDORS[access.vendor].headers(access),
        timeout=timeout,
    )


async def health(access: VendorAccess, *, call_timeout: float = 10.0) -> Health:
    """`hashi doctor`'s line for one configured integration: secrets set, vendor reachable, token taken."""
    name = f"integration {access.vendor}"
    missing = access.missing()
    if missing:
        return Health(name, False, f"{', '.join(missing)} not set")
    kind = VENDORS.get(access.vendor)
    if kind is None:
        return Health(name, True, "secrets set")
    client = client_for(access, timeout=call_timeout)
    try:
        return await probe_health(
            name=name, probe=lambda: kind.probe(client, access), secret_names=tuple(access.secrets)
        )
    finally:
        await client.close()
