"""Settings from the environment (and a .env file) plus the team's optional hashi.toml."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import DEFAULT_LANG, Lang
from bot.incidents.fields import FieldKind, FieldSpec, RecordShape, Required
from bot.incidents.model import DEFAULT_SEVERITIES, DEFAULT_TYPE
from bot.incidents.permissions import Act, Policy, principal_problem
from bot.incidents.playbook_schema import shipped_playbooks_dir as shipped_playbooks_dir  # bot.demo's too
from bot.incidents.times import known_zone
from bot.integrations.config import DEFAULT_API_URLS, IntegrationsConfig, VendorAccess

if TYPE_CHECKING:
    from bot.incidents.service import IncidentConfig


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and the problem."""


_SLACK_ID = re.compile(r"[SUW][A-Z0-9]{2,}", re.ASCII)  # a user group (S…) or a user (U…, W…)
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}", re.ASCII)  # a type or field name, as typed in commands


def _slack_ids(value: tuple[str, ...]) -> tuple[str, ...]:
    for entry in value:
        if _SLACK_ID.fullmatch(entry) is None:
            raise ValueError(f"{entry!r} is not a user group id (S0123ABCD) or a user id (U0456EFGH)")
    return value


class ServiceConfig(BaseModel):
    """A service the team runs, with its availability objective and the people who answer for it."""

    model_config = ConfigDict(extra="forbid")

    slo: float | None = Field(default=None, description="availability target in percent, e.g. 99.9")
    # User groups (S…) and users (U…) invited to an incident's room when it has this service.
    responders: tuple[str, ...] = ()

    _responders_are_ids = field_validator("responders")(_slack_ids)

    @field_validator("slo")
    @classmethod
    def _slo_in_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 100:
            raise ValueError("slo is a percentage between 0 and 100, e.g. 99.9")
        return value


class FieldConfig(BaseModel):
    """A custom field of the incident record (`[fields.<name>]`)."""

    model_config = ConfigDict(extra="forbid")

    kind: FieldKind
    choices: tuple[str, ...] = ()
    required: Required | None = None  # "declare" or "resolve"
    label: dict[Lang, str] = Field(default_factory=dict)  # {en = "…", ja = "…"}

    @model_validator(mode="after")
    def _choices_for_select(self) -> FieldConfig:
        if self.kind is FieldKind.SELECT:
            if not self.choices or any(not c.strip() for c in self.choices):
                raise ValueError('a select field lists its choices, e.g. choices = ["eu", "us"]')
            if len({c.casefold() for c in self.choices}) != len(self.choices):
                raise ValueError("a select field's choices differ (ignoring case)")
        elif self.choices:
            raise ValueError(f"only a select field has choices, not a {self.kind.value} field")
        return self


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
    # Incident types, e.g. ["default", "security", "ja"]; a type picks playbooks (`applies_to.types`).
    types: tuple[str, ...] = (DEFAULT_TYPE,)
    default_type: str | None = None  # unset: the first of `types`
    fields: dict[str, FieldConfig] = Field(default_factory=dict)
    # Who joins the room when an incident of a severity is declared: user groups (S…) and users (U…).
    invites: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # Who may do what, e.g. close = ["lead", "role:comms", "usergroup:S0123"]; unlisted acts: anyone.
    permissions: dict[Act, list[str]] = Field(default_factory=dict)
    # Alerts in, pages out, tickets, the status page: `[integrations]` and `[integrations.<name>]`.
    integrations: IntegrationsConfig = Field(default_factory=IntegrationsConfig)
    # The team's own postmortem template (Markdown with Hashi's placeholders), relative to hashi.toml.
    postmortem_template: Path | None = None

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
        if not self.types:
            raise ValueError('types must list at least one type, e.g. ["default"]')
        for name in (*self.types, *self.fields):
            if _NAME.fullmatch(name) is None:
                raise ValueError(f"{name!r}: type and field names are lowercase letters, digits, - and _")
        if len({name.casefold() for name in self.types}) != len(self.types):
            raise ValueError("types are listed twice")
        if self.default_type is not None and self.default_type not in self.types:
            raise ValueError(f"default_type {self.default_type!r} is not one of {', '.join(self.types)}")
        for code, who in self.invites.items():
            if code not in self.severities:
                raise ValueError(f"invites.{code}: not a severity; use one of {', '.join(self.severities)}")
            _slack_ids(who)
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

    def record_shape(self) -> RecordShape:
        """The incident types and custom fields, as the domain reads them."""
        return RecordShape(
            types=self.types,
            default_type=self.default_type or self.types[0],
            fields=tuple(
                FieldSpec(
                    name=name, kind=f.kind, choices=f.choices, required=f.required, labels=dict(f.label)
                )
                for name, f in self.fields.items()
            ),
        )

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
    # The web dashboard on the HTTP port (bot/web): off with HASHI_WEB=false. Sign in with Slack needs the
    # app's client id and secret, the public address Slack redirects back to, and a secret for sessions.
    web: bool = Field(default=True, alias="HASHI_WEB")
    slack_client_id: str | None = Field(default=None, alias="HASHI_SLACK_CLIENT_ID")
    slack_client_secret: str | None = Field(default=None, alias="HASHI_SLACK_CLIENT_SECRET")
    public_url: str | None = Field(default=None, alias="HASHI_PUBLIC_URL")
    session_secret: str | None = Field(default=None, alias="HASHI_SESSION_SECRET")

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) address like https://hashi.example.com")
        return value.rstrip("/")

    @field_validator("session_secret")
    @classmethod
    def _long_secret(cls, value: str | None) -> str | None:
        if value and len(value) < 32:
            raise ValueError("use at least 32 characters, e.g. the output of `openssl rand -hex 32`")
        return value or None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if known_zone(value) is None:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Asia/Tokyo")
        return value

    def bot_token_problem(self) -> str | None:
        """What is wrong with SLACK_BOT_TOKEN (unset, or not a bot token), and where the right one is."""
        token = self.slack_bot_token
        where = "OAuth & Permissions → Bot User OAuth Token, xoxb-…"
        if not token:
            return f"SLACK_BOT_TOKEN is not set ({where})"
        if token.startswith(("xoxb-", "xoxe.xoxb-")):  # the second: a rotating token
            return None
        if token.startswith("xapp-"):
            return (
                "SLACK_BOT_TOKEN holds an app-level token (xapp-…, which goes in SLACK_APP_TOKEN); "
                f"it needs the bot's ({where})"
            )
        if token.startswith(("xoxp-", "xoxe.xoxp-")):
            return f"SLACK_BOT_TOKEN holds a user token (xoxp-…); it needs the bot's ({where})"
        return f"SLACK_BOT_TOKEN does not start with xoxb-, so it is not a bot token ({where})"

    def mode_problem(self, *, http: bool = False) -> str | None:
        """What is missing or wrong for the mode `hashi serve` would run in (Socket Mode when SLACK_APP_TOKEN
        is set and `http` is not, else HTTP), and how to fix it."""
        if self.slack_app_token and not http:
            if not self.slack_app_token.startswith("xapp-"):
                return (
                    "SLACK_APP_TOKEN does not start with xapp- (Basic Information → App-Level Tokens, "
                    "with the connections:write scope)"
                )
            return None
        if self.slack_signing_secret:
            return None
        if http:
            return "SLACK_SIGNING_SECRET is not set (--http checks every request with it: Basic Information)"
        return (
            "neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET is set: for Socket Mode (no public address "
            "needed) create the app from `hashi manifest --socket-mode` and set SLACK_APP_TOKEN (xapp-…); "
            "for HTTP mode, Slack must reach a public https:// address: set SLACK_SIGNING_SECRET"
        )


class Settings(BaseModel):
    """Everything Hashi is configured with."""

    env: EnvSettings
    team: TeamConfig
    # The text of the team's postmortem template (None: the one Hashi ships in the draft's language).
    postmortem_template: str | None = None

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
            shape=self.team.record_shape(),
            responders={name: s.responders for name, s in self.team.services.items() if s.responders},
            invites=dict(self.team.invites),
            paging=PagingPolicy(severities=pagerduty.severities, services=pagerduty.services)
            if (pagerduty := self.team.integrations.pagerduty) is not None
            else None,
        )


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
    team = load_team_config(env.config_path)
    return Settings(env=env, team=team, postmortem_template=load_postmortem_template(team, env.config_path))


def load_postmortem_template(team: TeamConfig, config_path: Path) -> str | None:
    """The text of the team's postmortem template (its path is relative to hashi.toml), or None."""
    if team.postmortem_template is None:
        return None
    path = team.postmortem_template
    if not path.is_absolute():
        path = config_path.parent / path
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{config_path}: postmortem_template: cannot read {path}: {reason}") from exc
