"""Settings from the environment (and a .env file) plus the team's optional hashi.toml."""

from __future__ import annotations

import sys
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import DEFAULT_LANG, Lang
from bot.incidents.model import DEFAULT_SEVERITIES
from bot.incidents.permissions import Act, Policy, principal_problem
from bot.incidents.times import known_zone
from bot.integrations.config import DEFAULT_API_URLS, IntegrationsConfig, VendorAccess

if TYPE_CHECKING:
    from bot.incidents.service import IncidentConfig


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and the problem."""


class ServiceConfig(BaseModel):
    """A service the team runs, with its availability objective."""

    model_config = ConfigDict(extra="forbid")

    slo: float | None = Field(default=None, description="availability target in percent, e.g. 99.9")

    @field_validator("slo")
    @classmethod
    def _slo_in_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 100:
            raise ValueError("slo is a percentage between 0 and 100, e.g. 99.9")
        return value


class TeamConfig(BaseModel):
    """What `hashi.toml` may say; every key is optional."""

    model_config = ConfigDict(extra="forbid")

    severities: tuple[str, ...] = DEFAULT_SEVERITIES
    default_severity: str | None = None
    roles: tuple[str, ...] = ("lead", "comms", "scribe", "ops")
    channel_prefix: str = "inc"
    timeline_emoji: str = "pushpin"
    # Seconds one attempt at an incident's Slack set-up may hold it before a restart or replica takes over.
    setup_lease_seconds: int = Field(default=120, ge=1, le=3600)
    # Seconds a replica's claim on a recorded delivery lasts: after a crash, another replica resumes the
    # delivery then (the crashed replica itself resumes it at once when it comes back).
    delivery_lease_seconds: int = Field(default=60, ge=5, le=3600)
    # The workspace language (`en` or `ja`): channel-wide messages are in it, and when set it also overrides
    # each person's Slack language for what Hashi tells them. Unset: people get their Slack locale's
    # language (English when Hashi has no catalogue for it), channels get English.
    language: Lang | None = None
    # Minutes between status-update reminders, per severity.
    status_update_minutes: dict[str, int] = Field(
        default_factory=lambda: {"SEV1": 15, "SEV2": 30, "SEV3": 60}
    )
    services: dict[str, ServiceConfig] = Field(default_factory=dict)
    # Who may do what, e.g. close = ["lead", "role:comms", "usergroup:S0123"]; unlisted acts: anyone.
    permissions: dict[Act, list[str]] = Field(default_factory=dict)
    # Alerts in, pages out, tickets, the status page: `[integrations]` and `[integrations.<name>]`.
    integrations: IntegrationsConfig = Field(default_factory=IntegrationsConfig)

    @property
    def workspace_language(self) -> Lang:
        """The language of channel-wide messages."""
        return self.language or DEFAULT_LANG

    @field_validator("permissions")
    @classmethod
    def _known_principals(cls, value: dict[Act, list[str]]) -> dict[Act, list[str]]:
        for act, principals in value.items():
            if not principals:
                raise ValueError(f'permissions.{act.value} lists nobody; use ["anyone"] to leave it open')
            for principal in principals:
                problem = principal_problem(principal)
                if problem:
                    raise ValueError(f"permissions.{act.value}: {problem}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TeamConfig:
        if not self.severities:
            raise ValueError("severities must list at least one code")
        if self.default_severity is not None and self.default_severity not in self.severities:
            known = ", ".join(self.severities)
            raise ValueError(f"default_severity {self.default_severity!r} is not one of {known}")
        if "lead" not in self.roles:
            self.roles = ("lead", *self.roles)
        integrations = self.integrations
        if integrations.followups and getattr(integrations, integrations.followups) is None:
            raise ValueError(
                f'integrations.followups = "{integrations.followups}" needs an '
                f"[integrations.{integrations.followups}] table"
            )
        for where, severities in (
            (
                "integrations.pagerduty.severities",
                integrations.pagerduty and integrations.pagerduty.severities,
            ),
            (
                "integrations.alerts.rules",
                integrations.alerts
                and [r.severity for r in integrations.alerts.rules if r.severity is not None],
            ),
        ):
            for code in severities or ():
                if code not in self.severities:
                    raise ValueError(f"{where}: {code!r} is not one of {', '.join(self.severities)}")
        return self

    @property
    def default(self) -> str:
        """The severity a declaration gets when none is given (the middle of the scale by default)."""
        return self.default_severity or self.severities[min(2, len(self.severities) - 1)]

    def slos(self) -> dict[str, float]:
        """SLO targets as fractions (0.999), by service."""
        return {name: s.slo / 100 for name, s in self.services.items() if s.slo is not None}


class EnvSettings(BaseSettings):
    """Environment variables of INTERFACE.md."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    slack_bot_token: str | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, alias="SLACK_APP_TOKEN")
    database_url: str = Field(default="sqlite:///hashi.db", alias="HASHI_DATABASE_URL")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="HASHI_SLACK_API_URL")
    slack_timeout: float = Field(default=10.0, gt=0, alias="HASHI_SLACK_TIMEOUT")
    playbooks_dir: Path | None = Field(default=None, alias="HASHI_PLAYBOOKS_DIR")
    announce_channel: str | None = Field(default=None, alias="HASHI_ANNOUNCE_CHANNEL")
    timezone: str = Field(default="UTC", alias="HASHI_TIMEZONE")
    host: str = Field(default="0.0.0.0", alias="HASHI_HOST")
    port: int = Field(default=3000, alias="HASHI_PORT")
    config_path: Path = Field(default=Path("hashi.toml"), alias="HASHI_CONFIG")
    # Names this replica in the durable inbox's claims; the same name after a restart resumes its own
    # unfinished deliveries at once (default: the host name and the HTTP port).
    replica_id: str | None = Field(default=None, max_length=128, alias="HASHI_REPLICA_ID")
    # Integrations' secrets and base URLs (each used only when its [integrations.<name>] table is present).
    alert_token: str | None = Field(default=None, alias="HASHI_ALERT_TOKEN")
    github_token: str | None = Field(default=None, alias="HASHI_GITHUB_TOKEN")
    github_webhook_secret: str | None = Field(default=None, alias="HASHI_GITHUB_WEBHOOK_SECRET")
    github_api_url: str | None = Field(default=None, alias="HASHI_GITHUB_API_URL")
    jira_email: str | None = Field(default=None, alias="HASHI_JIRA_EMAIL")
    jira_token: str | None = Field(default=None, alias="HASHI_JIRA_TOKEN")
    jira_api_url: str | None = Field(default=None, alias="HASHI_JIRA_API_URL")
    pagerduty_routing_key: str | None = Field(default=None, alias="HASHI_PAGERDUTY_ROUTING_KEY")
    pagerduty_api_url: str | None = Field(default=None, alias="HASHI_PAGERDUTY_API_URL")
    statuspage_api_key: str | None = Field(default=None, alias="HASHI_STATUSPAGE_API_KEY")
    statuspage_api_url: str | None = Field(default=None, alias="HASHI_STATUSPAGE_API_URL")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if known_zone(value) is None:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Asia/Tokyo")
        return value


class Settings(BaseModel):
    """Everything Hashi is configured with."""

    env: EnvSettings
    team: TeamConfig

    @property
    def playbooks_dir(self) -> Path:
        """The folder of playbook files in use."""
        return self.env.playbooks_dir or shipped_playbooks_dir()

    def integration(self, name: str) -> VendorAccess | None:
        """Where integration `name` answers and its secrets, or None when hashi.toml does not turn it on."""
        config = getattr(self.team.integrations, name)
        if config is None:
            return None
        env = self.env
        secrets: dict[str, str | None]
        match name:
            case "alerts":
                return VendorAccess(vendor=name, base_url="", secrets={"HASHI_ALERT_TOKEN": env.alert_token})
            case "github":
                secrets = {
                    "HASHI_GITHUB_TOKEN": env.github_token,
                    "HASHI_GITHUB_WEBHOOK_SECRET": env.github_webhook_secret,
                }
                base = env.github_api_url
            case "jira":
                secrets = {"HASHI_JIRA_EMAIL": env.jira_email, "HASHI_JIRA_TOKEN": env.jira_token}
                base = env.jira_api_url or config.url
            case "pagerduty":
                secrets = {"HASHI_PAGERDUTY_ROUTING_KEY": env.pagerduty_routing_key}
                base = env.pagerduty_api_url
            case "statuspage":
                secrets = {"HASHI_STATUSPAGE_API_KEY": env.statuspage_api_key}
                base = env.statuspage_api_url
            case _:
                raise KeyError(f"no integration named {name!r}")
        options = {k: v for k, v in config.model_dump().items() if isinstance(v, str)}
        return VendorAccess(
            vendor=name,
            base_url=(base or DEFAULT_API_URLS[name]).rstrip("/"),
            secrets=secrets,
            options=options,
        )

    def integrations(self) -> list[VendorAccess]:
        """Every integration hashi.toml turns on, with its access."""
        found = (self.integration(name) for name in self.team.integrations.configured())
        return [access for access in found if access is not None]

    def refuse_missing_secrets(self) -> None:
        """Raises ConfigError naming the first configured integration whose secret is not set."""
        for access in self.integrations():
            missing = access.missing()
            if missing:
                raise ConfigError(
                    f"[integrations.{access.vendor}] is configured but {' and '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not set: set "
                    f"{'it' if len(missing) == 1 else 'them'}, or remove the table from hashi.toml"
                )

    def incident_config(self) -> IncidentConfig:
        """The part of the configuration the incident service needs (playbooks loaded and checked)."""
        from bot.incidents.playbooks import load_playbooks
        from bot.incidents.service import IncidentConfig, PagingPolicy

        playbooks, problems = load_playbooks(
            self.playbooks_dir, severities=self.team.severities, roles=self.team.roles
        )
        if problems:
            raise ConfigError(f"{problems[0]} (`hashi playbooks check` lists every problem)")
        return IncidentConfig(
            playbooks=tuple(playbooks),
            severities=self.team.severities,
            default_severity=self.team.default,
            roles=self.team.roles,
            channel_prefix=self.team.channel_prefix,
            announce_channel=self.env.announce_channel or None,
            status_update_minutes=dict(self.team.status_update_minutes),
            policy=Policy(rules={act: tuple(who) for act, who in self.team.permissions.items()}),
            setup_lease=timedelta(seconds=self.team.setup_lease_seconds),
            paging=PagingPolicy(severities=pagerduty.severities, services=pagerduty.services)
            if (pagerduty := self.team.integrations.pagerduty) is not None
            else None,
        )


def shipped_playbooks_dir() -> Path:
    """The playbooks that ship with Hashi (the source tree's, or the installed copy)."""
    source = Path(__file__).resolve().parent.parent / "playbooks"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "hashi" / "playbooks"


def load_team_config(path: Path) -> TeamConfig:
    """Reads hashi.toml; a missing file means the defaults."""
    if not path.exists():
        return TeamConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return TeamConfig.model_validate(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {where}: {first['msg']}") from exc


def load_settings() -> Settings:
    """Reads the environment, .env and hashi.toml."""
    try:
        env = EnvSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"environment: {first['loc'][0]}: {first['msg']}") from exc
    return Settings(env=env, team=load_team_config(env.config_path))
