"""The one composition root: settings → engine → client → gateway → service → app, wired once.

`hashi serve` (bot/cli.py) and the stand-in's harness (`hashi demo`, the end-to-end tests) both build Hashi
here, so neither imports the other.
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
    from slack_bolt.async_app import AsyncApp

    from bot.incidents.ports import Clock
    from bot.incidents.service import IncidentService
    from bot.integrations.alerts import AlertIntake
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

    async def close(self) -> None:
        """Releases the database pool and the HTTP session (after the alerts' work in hand)."""
        await self.alerts.idle()
        await self.service.paging.idle()
        pager = self.service.paging.pager
        if pager is not None:
            await pager.close()
        await self.store.engine.dispose()
        session = getattr(self.gateway.client, "session", None)
        if session is not None and not session.closed:
            await session.close()


async def build_runtime(
    settings: Settings, *, migrate: bool = True, replica: str | None = None, clock: Clock | None = None
) -> Runtime:
    """The one composition root; applies migrations first. `replica` names this replica in the inbox's
    claims (HASHI_REPLICA_ID, else the given default, else the host name); `clock` is the system clock
    unless `hashi demo` tells its story on its own."""
    from bot.incidents.ports import SystemClock
    from bot.incidents.service import IncidentService
    from bot.integrations.alerts import DELIVERY_KIND, AlertIntake
    from bot.slack.app import build_app
    from bot.slack.gateway import SlackGateway, make_client, slack_session
    from bot.slack.inbox import SlackInbox
    from bot.slack.turns import AckFirst
    from storage.db import make_engine
    from storage.inbox import DeliveryLog
    from storage.repository import Store

    if not settings.env.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
    engine = make_engine(settings.env.database_url)
    if migrate:
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
        shape=settings.team.record_shape(),
    )
    owner = settings.env.replica_id or replica or socket.gethostname()
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
    )
