"""A vendor's failure as the domain's ports report it (bot.incidents.outside.OutsideError)."""

from __future__ import annotations

from bot.incidents.outside import OutsideError
from bot.integrations.client import VendorError


def outside_error(exc: VendorError) -> OutsideError:
    """The port's error for a failed call; `unknown` when no answer came in time (it may have been done)."""
    return OutsideError(exc.vendor, exc.reason, unknown=exc.status is None and "Timeout" in exc.reason)
