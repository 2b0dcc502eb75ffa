"""`hashi doctor`: checks what Hashi depends on and says what to fix; `--repair` finishes broken set-ups."""

from __future__ import annotations

from dataclasses import dataclass

from bot.incidents.errors import ChatError
from bot.incidents.playbooks import load_playbooks
from bot.integrations.registry import health
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.slack.manifest import BOT_SCOPES
from storage.migrate import current_revision, head_revision
from storage.repository import Store


@dataclass(frozen=True)
class Check:
    """One thing checked: whether it is fine, and what was found or what to do."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """`✓ name: detail` or `✗ name: detail`."""
        return f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"


def check_settings(settings: Settings) -> list[Check]:
    """Tokens and secrets for the mode `hashi serve` would pick, and the playbooks."""
    env = settings.env
    checks = [
        Check(
            "bot token",
            bool(env.slack_bot_token and env.slack_bot_token.startswith("xoxb-")),
            "set"
            if env.slack_bot_token
            else "SLACK_BOT_TOKEN is not set (the app's Bot User OAuth Token, xoxb-…)",
        )
    ]
    if env.slack_app_token:
        ok = env.slack_app_token.startswith("xapp-")
        checks.append(
            Check("mode", ok, "Socket Mode (SLACK_APP_TOKEN)" if ok else "SLACK_APP_TOKEN must start xapp-")
        )
    else:
        checks.append(
            Check(
                "mode",
                bool(env.slack_signing_secret),
                "HTTP (SLACK_SIGNING_SECRET set)"
                if env.slack_signing_secret
                else "HTTP mode needs SLACK_SIGNING_SECRET (Basic Information → Signing Secret), "
                "or set SLACK_APP_TOKEN for Socket Mode",
            )
        )
    playbooks, problems = load_playbooks(
        settings.playbooks_dir, severities=settings.team.severities, roles=settings.team.roles
    )
    if problems:
        checks.append(
            Check("playbooks", False, f"{problems[0]} (`hashi playbooks check` lists all {len(problems)})")
        )
    else:
        checks.append(Check("playbooks", True, f"{len(playbooks)} loaded from {settings.playbooks_dir}"))
    return checks


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
        return [Check("slack token", False, f"auth.test failed: {exc.reason}; check SLACK_BOT_TOKEN")]
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
            checks.append(
                Check("announce channel", False, f"{announce}: {exc.reason}; check HASHI_ANNOUNCE_CHANNEL")
            )
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
