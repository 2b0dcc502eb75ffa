"""Domain errors: small classes whose message is shown to the user at one edge."""

from __future__ import annotations


class IncidentError(Exception):
    """A request the incident core refused; the message says why and what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IncidentNotFound(IncidentError):
    """No incident with that id (or none in this channel)."""


class InvalidTransition(IncidentError):
    """The lifecycle does not allow this change from the incident's current status."""


class InvalidInput(IncidentError):
    """A value the configuration does not know (severity, role, …)."""


class RequiredItemsOpen(IncidentError):
    """Resolving would skip checklist items a playbook requires first (a gate); it needs confirming."""

    def __init__(self, message: str, *, items: tuple[str, ...]) -> None:
        super().__init__(message)
        self.items = items


class PermissionDenied(IncidentError):
    """The user may not do this."""


class ChatError(Exception):
    """A Slack effect failed after retries; the record is kept and the step can be retried."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
