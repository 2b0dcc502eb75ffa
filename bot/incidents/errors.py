"""Domain errors: small classes whose message is shown to the user at one edge."""

from __future__ import annotations

from bot.i18n import Lang, Msg


class IncidentError(Exception):
    """A request the incident core refused; the message says why and what to do instead.

    `message` is the English text (for logs and the CLI); `text(lang)` is what the user reads.
    """

    def __init__(self, message: Msg) -> None:
        super().__init__(str(message))
        self.msg = message
        self.message = str(message)

    def text(self, lang: Lang) -> str:
        """The message in the reader's language."""
        return self.msg.render(lang)


class IncidentNotFound(IncidentError):
    """No incident with that id (or none in this channel)."""


class InvalidTransition(IncidentError):
    """The lifecycle does not allow this change from the incident's current status."""


class InvalidInput(IncidentError):
    """A value the configuration does not know (severity, role, …)."""


class RequiredItemsOpen(IncidentError):
    """Resolving would skip checklist items a playbook requires first (a gate); it needs confirming."""

    def __init__(self, message: Msg, *, items: tuple[str, ...]) -> None:
        super().__init__(message)
        self.items = items


class PermissionDenied(IncidentError):
    """The user may not do this."""


class ChatError(Exception):
    """A Slack effect failed after retries; the record is kept and the step can be retried."""

    def __init__(self, step: str, reason: str, *, unknown: bool = False) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
        # Slack may have done it all the same (a timeout, a lost connection): no answer came.
        self.unknown = unknown


class PagerError(Exception):
    """The pager did not take an event: `retryable` when trying later may succeed."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
