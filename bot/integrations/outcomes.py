"""A vendor's failure as the domain's ports report it (bot.incidents.outside.OutsideError)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.incidents.outside import OutsideError
from bot.integrations.client import VendorClient, VendorError, VendorResponse


def outside_error(exc: VendorError) -> OutsideError:
    """The port's error for a failed call; `unknown` when no answer came in time (it may have been done)."""
    return OutsideError(exc.vendor, exc.reason, unknown=exc.status is None and "Timeout" in exc.reason)


async def call_for_port(
    client: VendorClient,
    method: str,
    verb: str,
    path: str,
    *,
    json_body: Any = None,
    params: Mapping[str, str] | None = None,
) -> VendorResponse:
    """`client.call`, its failure raised as the domain's OutsideError (for a port's implementation)."""
    try:
        return await client.call(method, verb, path, json_body=json_body, params=params)
    except VendorError as exc:
        raise outside_error(exc) from exc
