"""The `[integrations]` part of hashi.toml, and each integration's access (base URL and secrets) resolved
from the environment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The base URL each vendor answers at, unless HASHI_<NAME>_API_URL says otherwise.
DEFAULT_API_URLS: dict[str, str] = {
    "github": "https://api.github.com",
    "pagerduty": "https://events.pagerduty.com",
    "statuspage": "https://api.statuspage.io/v1",
}


class AlertRule(BaseModel):
    """Alerts whose labels match all of `match` get this severity and these services (first rule wins)."""

    model_config = ConfigDict(extra="forbid")

    match: dict[str, str] = Field(default_factory=dict, description="label name → exact value")
    severity: str | None = None
    services: tuple[str, ...] = ()


class AlertsConfig(BaseModel):
    """`[integrations.alerts]`: how alert labels map to an incident (the token is HASHI_ALERT_TOKEN)."""

    model_config = ConfigDict(extra="forbid")

    rules: tuple[AlertRule, ...] = ()
    # Labels whose value names a service when no rule names one (Alertmanager's `service` by convention).
    service_labels: tuple[str, ...] = ("service",)
    # A resolved alert group also records mitigation (the first time) when true.
    resolved_marks_mitigated: bool = False


class GithubConfig(BaseModel):
    """`[integrations.github]`: the repository follow-ups become issues in."""

    model_config = ConfigDict(extra="forbid")

    repo: str

    @field_validator("repo")
    @classmethod
    def _owner_slash_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", value):
            raise ValueError('repo is "owner/name", e.g. "acme/ops"')
        return value


class JiraConfig(BaseModel):
    """`[integrations.jira]`: the Jira Cloud site and project follow-ups become issues in."""

    model_config = ConfigDict(extra="forbid")

    url: str
    project: str


class PagerdutyConfig(BaseModel):
    """`[integrations.pagerduty]`: which declarations page (by severity or by service)."""

    model_config = ConfigDict(extra="forbid")

    severities: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


class StatuspageConfig(BaseModel):
    """`[integrations.statuspage]`: the page, and the component of each service."""

    model_config = ConfigDict(extra="forbid")

    page_id: str
    components: dict[str, str] = Field(default_factory=dict, description="service → component id")


class IntegrationsConfig(BaseModel):
    """`[integrations]`: each `[integrations.<name>]` table present turns that integration on."""

    model_config = ConfigDict(extra="forbid")

    followups: Literal["github", "jira"] | None = None
    # Whether a private incident's follow-up tickets may say what the follow-up and the incident are; by
    # default they say only that a private incident has a follow-up (its number in Hashi).
    private_details: bool = False
    alerts: AlertsConfig | None = None
    github: GithubConfig | None = None
    jira: JiraConfig | None = None
    pagerduty: PagerdutyConfig | None = None
    statuspage: StatuspageConfig | None = None

    def configured(self) -> tuple[str, ...]:
        """The names of the integrations turned on, in a stable order."""
        names = ("alerts", "github", "jira", "pagerduty", "statuspage")
        return tuple(name for name in names if getattr(self, name) is not None)


@dataclass(frozen=True)
class VendorAccess:
    """Where one vendor answers and the secrets it is called or checked with (name → value, None if unset)."""

    vendor: str
    base_url: str
    secrets: dict[str, str | None] = field(default_factory=dict)
    # What hashi.toml says of where to work at the vendor (github: repo; jira: url, project; statuspage:
    # page_id), for the calls and the doctor's probe.
    options: dict[str, str] = field(default_factory=dict)

    def missing(self) -> tuple[str, ...]:
        """The environment variables this integration needs that are not set."""
        return tuple(name for name, value in self.secrets.items() if not value)

    def secret(self, name: str) -> str:
        """A secret known to be set (start-up refuses an integration with one missing)."""
        value = self.secrets.get(name)
        if not value:
            raise KeyError(f"{name} is not set")
        return value
