"""The one composition root: settings → engine → client → gateway → service → app, wired once.

`hashi serve` (bot/cli/serve.py) and the stand-in's harness (`hashi demo`, the end-to-end tests) both build
Hashi here, so neither imports the other.
"""

from __future__ import annotations

import dataclasses
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.i18n import LANGUAGES, catalogue
from bot.settings import ConfigError, Settings

# The Slack and database stacks load when Hashi is built, so `hashi --help` starts fast.
if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp

    from bot.incidents.outside import StatusPage, Tracker
    from bot.incidents.ports import Clock
    from bot.incidents.service import IncidentService
    from bot.integrations.alerts import AlertIntake
    from bot.integrations.client import VendorClient
    from bot.integrations.github_webhook import GithubWebhook
    from bot.slack.gateway import SlackGateway
    from bot.slack.inbox import SlackInbox
    from bot.slack.turns import AckFirst
    from storage.repository import Store


@dataclass
class Runtime:
    """Everything `hashi serve` runs, wired once: settings → engine → client → gateway → service → app."""

    settings: Settings
    store: Store
    gateway: SlackGateway
    service: IncidentService
    app: AsyncApp
    turns: AckFirst
    inbox: SlackInbox
    clock: Clock
    alerts: AlertIntake
    vendor_clients: list[VendorClient] = dataclasses.field(default_factory=list)
    # POST /integrations/github, when follow-ups become GitHub issues.
    github_webhook: GithubWebhook | None = None

    async def close(self) -> None:
        """Releases the database pool and the HTTP sessions (after the alerts', pages' and showings' work in
        hand: a showing still pacing a burst would otherwise open a connection on the disposed engine's new
        pool, which nothing closes)."""
        await self.alerts.idle()
        await self.service.paging.idle()
        await self.service.effects.idle()
        pager = self.service.paging.pager
        if pager is not None:
            await pager.close()
        for vendor in self.vendor_clients:
            await vendor.close()
        await self.store.engine.dispose()
        session = getattr(self.gateway.client, "session", None)
        if session is not None and not session.closed:
            await session.close()


def postmortem_template_problem(settings: Settings) -> str | None:
    """What is wrong with the team's postmortem template (the first problem, with its line), or None."""
    if settings.postmortem_template is None:
        return None
    from bot.reports.postmortem import template_problems

    problems = template_problems(settings.postmortem_template)
    return f"postmortem_template {settings.team.postmortem_template}, {problems[0]}" if problems else None


async def build_runtime(
    settings: Settings,
    *,
    migrate: bool = True,
    migrate_apart: bool = False,
    replica: str | None = None,
    clock: Clock | None = None,
) -> Runtime:
    """The one composition root; applies pending migrations first (`migrate_apart`: in a child process, so
    a long-running server never holds Alembic; a database at the head is not touched). `replica` names this
    replica in the inbox's claims (HASHI_REPLICA_ID, else the given default, else the host name); `clock` is
    the system clock unless `hashi demo` tells its story on its own."""
    from bot.incidents.ports import SystemClock
    from bot.incidents.service import IncidentService
    from bot.integrations.alerts import DELIVERY_KIND, AlertIntake
    from bot.slack.app import build_app
    from bot.slack.gateway import SlackGateway
    from bot.slack.inbox import SlackInbox
    from bot.slack.turns import AckFirst
    from bot.slack.webapi import make_client, slack_session
    from storage.db import in_memory, make_engine
    from storage.inbox import DeliveryLog
    from storage.repository import Store
    from storage.schema import at_head, upgrade_apart

    if not settings.env.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
    problem = postmortem_template_problem(settings)
    if problem:
        raise ConfigError(problem)
    engine = make_engine(settings.env.database_url)
    if migrate and not await at_head(engine):
        if migrate_apart and not in_memory(settings.env.database_url):
            await upgrade_apart(settings.env.database_url)
        else:
            from storage.migrate import upgrade

            await upgrade(engine)
    clock = clock or SystemClock()  # the one clock: the service, the inbox and the listeners read it
    turns = AckFirst()
    store = Store(engine, pause=turns.pause)
    client = make_client(
        token=settings.env.slack_bot_token,
        base_url=settings.env.slack_api_url,
        timeout=settings.env.slack_timeout,
        session=slack_session(settings.env.slack_timeout),
    )
    gateway = SlackGateway(
        client=client,
        severities=settings.team.severities,
        announce_channel=settings.env.announce_channel,
        language=settings.team.workspace_language,
        public_url=settings.env.public_url if settings.env.web else None,
        shape=settings.team.record_shape(),
    )
    owner = settings.env.replica_id or replica or socket.gethostname()
    vendor_clients: list[VendorClient] = []
    tracker = followups_tracker(settings, vendor_clients)
    status_page = public_status_page(settings, vendor_clients)
    statuspage_config = settings.team.integrations.statuspage
    pager = None
    pagerduty = settings.integration("pagerduty")
    if pagerduty is not None and not pagerduty.missing():
        from bot.integrations.pagerduty import ROUTING_KEY, PagerdutyPager
        from bot.integrations.registry import client_for

        pager = PagerdutyPager(client=client_for(pagerduty), routing_key=pagerduty.secret(ROUTING_KEY))
    service = IncidentService(
        store=store,
        chat=gateway,
        clock=clock,
        config=dataclasses.replace(settings.incident_config(), replica=owner),
        directory=gateway,
        tracker=tracker,
        private_details=settings.team.integrations.private_details,
        status_page=status_page,
        components=statuspage_config.components if statuspage_config else None,
        lang=settings.team.workspace_language,
        pager=pager,
    )
    deliveries = DeliveryLog(
        store,
        owner=owner,
        lease=timedelta(seconds=settings.team.delivery_lease_seconds),
        now=clock.now,
    )
    inbox = SlackInbox(deliveries)
    alerts = AlertIntake(
        token=settings.env.alert_token,
        config=settings.team.integrations.alerts,
        deliveries=deliveries,
        receive=service.receive_alerts,
    )
    inbox.replayers[DELIVERY_KIND] = alerts.replay
    app = build_app(
        settings=settings, service=service, gateway=gateway, turns=turns, inbox=inbox, clock=clock
    )
    github_webhook = None
    github = settings.integration("github")
    if github is not None and tracker is not None and tracker.name == "github":
        from bot.integrations.github_webhook import KIND, GithubWebhook

        github_webhook = GithubWebhook(
            secret=github.secret("HASHI_GITHUB_WEBHOOK_SECRET"),
            repo=github.options["repo"],
            deliveries=deliveries,
            followups=service.followups,
        )
        inbox.replayers[KIND] = github_webhook.replay
    for lang in LANGUAGES:  # read now rather than by the first request (the first declaration's path)
        catalogue(lang)
    return Runtime(
        settings=settings,
        store=store,
        gateway=gateway,
        service=service,
        app=app,
        turns=turns,
        inbox=inbox,
        clock=clock,
        alerts=alerts,
        vendor_clients=vendor_clients,
        github_webhook=github_webhook,
    )


def followups_tracker(settings: Settings, clients: list[VendorClient]) -> Tracker | None:
    """Where follow-ups become tickets (`[integrations] followups`), or None; its client joins `clients`."""
    from bot.integrations.github import GithubIssues
    from bot.integrations.jira import JiraIssues
    from bot.integrations.registry import client_for

    integrations = settings.team.integrations
    access = settings.integration(integrations.followups) if integrations.followups else None
    if access is None or access.missing():
        return None
    client = client_for(access)
    clients.append(client)
    if integrations.jira is not None and access.vendor == "jira":
        return JiraIssues(client, site=integrations.jira.url, project=integrations.jira.project)
    assert integrations.github is not None
    return GithubIssues(client, repo=integrations.github.repo)


def public_status_page(settings: Settings, clients: list[VendorClient]) -> StatusPage | None:
    """The team's Statuspage (`[integrations.statuspage]`), or None; its client joins `clients`."""
    from bot.integrations.registry import client_for
    from bot.integrations.statuspage import Statuspage

    config = settings.team.integrations.statuspage
    access = settings.integration("statuspage")
    if config is None or access is None or access.missing():
        return None
    client = client_for(access)
    clients.append(client)
    return Statuspage(client, page_id=config.page_id)


def add_web_dashboard(runtime: Runtime, web_app: web.Application) -> bool:
    """Serves the web dashboard (bot/web) beside /slack/events unless HASHI_WEB=false; whether it does."""
    import logging
    import secrets

    from bot.web.app import add_dashboard
    from bot.web.config import WebConfig

    env = runtime.settings.env
    if not env.web:
        return False
    secret = env.session_secret
    if secret is None:
        # Sessions then end with the process and hold on one replica only; `hashi doctor` says so.
        secret = secrets.token_hex(32)
        if env.slack_client_id:
            logging.getLogger("hashi.web").warning(
                "HASHI_SESSION_SECRET is not set: web sessions end when this process stops"
            )
    config = WebConfig(
        client_id=env.slack_client_id,
        client_secret=env.slack_client_secret,
        public_url=env.public_url,
        session_secret=secret,
        timezone=env.timezone,
        slack_api_url=env.slack_api_url,
        slos=runtime.settings.team.slos(),
        severities=tuple(runtime.settings.team.severities),
        types=tuple(runtime.settings.team.types),
        postmortem_template=runtime.settings.postmortem_template,
    )
    add_dashboard(
        web_app, service=runtime.service, identity=runtime.gateway, clock=runtime.clock, config=config
    )
    return True
