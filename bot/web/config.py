"""The dashboard's configuration: Sign in with Slack's settings, what it lacks, the viewer's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from bot.i18n import DEFAULT_LANG, LANGUAGES, Lang

CALLBACK_PATH = "/auth/callback"


@dataclass(frozen=True)
class WebConfig:
    """What the dashboard is configured with (HASHI_SLACK_CLIENT_ID … in the environment)."""

    client_id: str | None
    client_secret: str | None
    public_url: str | None
    session_secret: str
    timezone: str
    slack_api_url: str
    slos: Mapping[str, float]
    severities: tuple[str, ...]
    types: tuple[str, ...] = ("default",)
    # The team's postmortem template (hashi.toml `postmortem_template`), as `hashi export` lays drafts out.
    postmortem_template: str | None = None

    @property
    def sign_in_ready(self) -> bool:
        """Whether Sign in with Slack is configured."""
        return bool(self.client_id and self.client_secret and self.public_url)

    @property
    def authorize_url(self) -> str:
        """Slack's sign-in page, beside its Web API (https://slack.com/openid/connect/authorize)."""
        return urljoin(self.slack_api_url, "../openid/connect/authorize")

    @property
    def redirect_uri(self) -> str:
        """Where Slack sends the browser back (add it to the app's redirect URLs)."""
        return f"{self.public_url or ''}{CALLBACK_PATH}"


def setup_problem(
    *, client_id: str | None, client_secret: str | None, public_url: str | None, session_secret: str | None
) -> str | None:
    """What keeps Sign in with Slack from working, for `hashi doctor`, or None when it is set up."""
    missing = [
        name
        for name, value in (
            ("HASHI_SLACK_CLIENT_ID", client_id),
            ("HASHI_SLACK_CLIENT_SECRET", client_secret),
            ("HASHI_PUBLIC_URL", public_url),
            ("HASHI_SESSION_SECRET", session_secret),
        )
        if not value
    ]
    if not missing:
        return None
    return (
        f"Sign in with Slack is not set up ({', '.join(missing)} unset), so it shows no incident. "
        "Set the Slack app's client id and secret, the public address people open (add "
        f"<address>{CALLBACK_PATH} to the app's redirect URLs) and a session secret of 32+ characters"
    )


def viewer_language(accept_language: str | None) -> Lang:
    """The first of the browser's languages (by quality) that Hashi has, else English."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.split("-")[0].lower()))
    for _, _, base in sorted(ranked):
        if base in LANGUAGES:
            return base
    return DEFAULT_LANG
