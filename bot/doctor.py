"""`hashi doctor`: checks what Hashi depends on and says what to fix; `--repair` finishes broken set-ups."""

from __future__ import annotations

from dataclasses import dataclass

from bot.incidents.errors import ChatError
from bot.incidents.playbooks import load_playbooks
from bot.integrations.registry import health
from bot.runtime import postmortem_template_problem
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.slack.manifest import BOT_SCOPES
from bot.web.config import setup_problem
from storage.db import sqlite_file
from storage.migrate import current_revision, head_revision
from storage.repository import Store


@dataclass(frozen=True)
class Check:
    """One thing checked: whether it is fine, and what was found or what to do; or why it was not checked."""

    name: str
    ok: bool
    detail: str
    skipped: bool = False

    def line(self) -> str:
        """`✓ name: detail`, `✗ name: detail`, or `- name: not checked: reason`."""
        if self.skipped:
            return f"- {self.name}: not checked: {self.detail}"
        return f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"


def skipped(name: str, reason: str) -> Check:
    """A check that could not run (what it depends on failed); it says why, and fails nothing by itself."""
    return Check(name, True, reason, skipped=True)


SLACK_CHECKS = ("slack token", "scopes", "announce channel")
# Slack's answers to auth.test that mean the token itself is wrong (not the network).
REFUSED_TOKEN = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


def auth_failure(error: ChatError, *, api_url: str) -> str:
    """What a failed auth.test means: Slack not reached (network, DNS, proxy), or the token refused."""
    if error.unknown:
        return (
            f"Slack did not answer at {api_url} ({error.reason}): check the network, DNS and any proxy "
            "(and HASHI_SLACK_API_URL if you set it); the token was not checked"
        )
    if error.reason in REFUSED_TOKEN:
        return (
            f"Slack refused SLACK_BOT_TOKEN ({error.reason}): copy the Bot User OAuth Token (xoxb-…) again "
            "from OAuth & Permissions, and reinstall the app if it was removed"
        )
    return f"auth.test failed ({error.reason}); see https://api.slack.com/methods/auth.test for what it means"


def check_settings(settings: Settings) -> list[Check]:
    """Tokens and secrets for the mode `hashi serve` would pick, and the playbooks."""
    env = settings.env
    bot_token = env.bot_token_problem()
    checks = [Check("bot token", bot_token is None, bot_token or "set, a bot token (xoxb-…)")]
    mode = env.mode_problem()
    if mode is not None:
        checks.append(Check("mode", False, mode))
    elif env.slack_app_token:
        checks.append(Check("mode", True, "Socket Mode (SLACK_APP_TOKEN)"))
    else:
        checks.append(
            Check("mode", True, "HTTP (SLACK_SIGNING_SECRET set; Slack must reach a public https:// URL)")
        )
    checks.append(web_check(settings))
    playbooks, problems = load_playbooks(
        settings.playbooks_dir, severities=settings.team.severities, roles=settings.team.roles
    )
    if problems:
        checks.append(
            Check("playbooks", False, f"{problems[0]} (`hashi playbooks check` lists all {len(problems)})")
        )
    else:
        checks.append(Check("playbooks", True, f"{len(playbooks)} loaded from {settings.playbooks_dir}"))
    if settings.team.postmortem_template is not None:
        problem = postmortem_template_problem(settings)
        checks.append(
            Check("postmortem template", problem is None, problem or str(settings.team.postmortem_template))
        )
    return checks


def web_check(settings: Settings) -> Check:
    """The web dashboard: off, set up, or what its Sign in with Slack still lacks. Not set up at all is no
    fault (the dashboard then shows how to set it up and no incident); half set up is."""
    env = settings.env
    if not env.web:
        return Check("web dashboard", True, "off (HASHI_WEB=false)")
    problem = setup_problem(
        client_id=env.slack_client_id,
        client_secret=env.slack_client_secret,
        public_url=env.public_url,
        session_secret=env.session_secret,
    )
    if problem is None:
        return Check("web dashboard", True, f"{env.public_url}/, signed in with Slack")
    return Check("web dashboard", not env.slack_client_id, problem)


def missing_database(url: str) -> str | None:
    """Why there is no database to read at a SQLite URL (the file is absent), else None; connecting would
    create an empty file, and `hashi doctor`, `stats` and `export` create nothing."""
    path = sqlite_file(url)
    if path is None or path.exists():
        return None
    return (
        f"no database at {path} (HASHI_DATABASE_URL; unset, it is hashi.db in the current folder): point it "
        "at the database `hashi serve` uses, or run `hashi db upgrade` to create one there"
    )


async def check_database(store: Store) -> list[Check]:
    """The database answers and is migrated to the newest revision."""
    try:
        await store.ping()
    except Exception as exc:  # any driver error means the database is not usable
        return [Check("database", False, f"does not answer ({type(exc).__name__}); check HASHI_DATABASE_URL")]
    current, head = await current_revision(store.engine), head_revision()
    if current != head:
        return [
            Check(
                "database",
                False,
                f"at revision {current or 'none'}, newest is {head}: run `hashi db upgrade`",
            )
        ]
    return [Check("database", True, f"answers, at the newest revision {head}")]


async def check_slack(settings: Settings, gateway: SlackGateway) -> list[Check]:
    """The token works, has every scope the manifest asks for, and the announce channel is usable."""
    try:
        identity, scopes = await gateway.token_check()
    except ChatError as exc:
        cause = "Slack did not answer" if exc.unknown else "Slack refused the token"
        return [
            Check("slack token", False, auth_failure(exc, api_url=settings.env.slack_api_url)),
            *(skipped(name, cause) for name in SLACK_CHECKS[1:]),
        ]
    checks = [Check("slack token", True, f"bot {identity.get('user')} in workspace {identity.get('team')}")]
    if scopes is None:
        checks.append(Check("scopes", True, "Slack did not list them; compare with `hashi manifest`"))
    else:
        missing = [s for s in BOT_SCOPES if s not in scopes]
        checks.append(
            Check(
                "scopes",
                not missing,
                "all granted"
                if not missing
                else f"missing {', '.join(missing)}: add them (or recreate the app from `hashi manifest`), "
                "then reinstall it",
            )
        )
    announce = settings.env.announce_channel
    if announce:
        try:
            channel = await gateway.channel_info(channel_id=announce)
        except ChatError as exc:
            hint = (
                "HASHI_ANNOUNCE_CHANNEL takes the channel's ID (C…, at the bottom of the channel's details "
                "in Slack), not its name; invite @hashi to a private one"
            )
            checks.append(Check("announce channel", False, f"{announce}: {exc.reason}: {hint}"))
        else:
            member = bool(channel.get("is_member"))
            public = not channel.get("is_private")
            can_post = member or (public and (scopes is None or "chat:write.public" in scopes))
            detail = f"#{channel.get('name')}" + ("" if can_post else ": invite @hashi to it")
            checks.append(Check("announce channel", can_post, detail))
    else:
        checks.append(Check("announce channel", True, "not set (declarations are not announced)"))
    return checks


async def check_integrations(settings: Settings) -> list[Check]:
    """Each integration hashi.toml turns on: its secrets are set, its vendor answers and takes the token."""
    checks = []
    for access in settings.integrations():
        found = await health(access, call_timeout=min(settings.env.slack_timeout, 10.0))
        checks.append(Check(found.name, found.ok, found.detail))
    return checks
