"""`hashi serve`: the app, and the loops beside it that replay the inbox and repair incidents."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.cli.common import EXIT_OK, UsageError, configure_logging, settle_heap
from bot.incidents.errors import ChatError
from bot.settings import Settings

# The Slack and database stacks load only for commands that need them, so `hashi --help` starts fast.
if TYPE_CHECKING:
    from bot.incidents.service import IncidentService
    from bot.slack.inbox import SlackInbox


async def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Runs the bot: Socket Mode when SLACK_APP_TOKEN is set (and --http is not), else HTTP."""
    from bot.runtime import add_web_dashboard, build_runtime
    from bot.slack.app import build_web, run_http, run_socket_mode

    problems = [settings.env.bot_token_problem(), settings.env.mode_problem(http=args.http)]
    if any(problems):  # all at once, so one look at the README's "Connecting to Slack" fixes them
        raise UsageError("; and ".join(p for p in problems if p))
    configure_logging(args.log_format)
    settings.refuse_missing_secrets()
    socket_mode = bool(settings.env.slack_app_token) and not args.http
    port = args.port or settings.env.port
    replica = f"{socket.gethostname()}:{'socket' if socket_mode else port}"
    runtime = await build_runtime(settings, replica=replica, migrate_apart=True)
    started = runtime.clock.now()
    web_app = build_web(
        app=runtime.app,
        store=runtime.store,
        signing_secret=settings.env.slack_signing_secret,
        turns=runtime.turns,
        github=runtime.github_webhook,
        alerts=runtime.alerts,
    )
    add_web_dashboard(runtime, web_app)
    log = logging.getLogger("hashi")
    try:
        await runtime.gateway.bot_user_id()  # learn who we are once, before the first declaration needs it
    except ChatError as exc:
        from bot.doctor import auth_failure

        log.warning("at start: %s", auth_failure(exc, api_url=settings.env.slack_api_url))
    # What this replica recorded and had not finished when it last stopped (a crash, a kill) runs first,
    # in the order it came, before new requests are taken.
    resumed = await runtime.inbox.resume(mine_since=started)
    if resumed:
        log.info("resumed %s recorded deliveries", resumed)
    work: asyncio.Future[Any]
    if socket_mode:
        assert settings.env.slack_app_token is not None
        work = asyncio.gather(
            run_socket_mode(runtime.app, app_token=settings.env.slack_app_token),
            run_http(web_app, host=settings.env.host, port=port),  # /healthz and /metrics
        )
    else:
        work = asyncio.ensure_future(run_http(web_app, host=settings.env.host, port=port))
    settle_heap()
    repairs = asyncio.ensure_future(
        repair_loop(runtime.service, lease=settings.team.setup_lease_seconds, started=started)
    )
    inbox = asyncio.ensure_future(inbox_loop(runtime.inbox, lease=settings.team.delivery_lease_seconds))
    loop = asyncio.get_running_loop()
    for stop in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop, work.cancel)
    try:
        await work
    except asyncio.CancelledError:
        log.info("stopping: no new requests; finishing the work in hand")
    finally:
        inbox.cancel()
        # New requests are no longer taken (the server is closed); what is in hand finishes, or goes back to
        # the inbox for another replica, or this one's next start, to resume.
        handed_back = await runtime.inbox.drain(within=STOP_GRACE)
        if handed_back:
            log.warning("handed %s unfinished deliveries back to the inbox", handed_back)
        repairs.cancel()
        await runtime.close()
    return EXIT_OK


STOP_GRACE = 10.0  # seconds a stop waits for work in hand before handing the rest back


PRUNE_AFTER = timedelta(days=1)  # deliveries done longer ago are forgotten (Slack retries within minutes)


async def inbox_loop(inbox: SlackInbox, *, lease: int) -> None:
    """Every so often, resumes deliveries whose replica stopped without finishing them (their claim ran
    out), and forgets deliveries done long ago."""
    log = logging.getLogger("hashi.inbox")
    interval = min(10.0, max(1.0, lease / 4))
    passes = 0
    while True:
        await asyncio.sleep(interval)
        try:
            resumed = await inbox.resume()
            if resumed:
                log.info("resumed %s deliveries another replica left unfinished", resumed)
            passes += 1
            if passes % 360 == 1:
                await inbox.deliveries.prune(older_than=PRUNE_AFTER)
        except Exception:  # a failed pass (database restarting) is tried again next time
            log.exception("inbox pass failed")


async def repair_loop(service: IncidentService, *, lease: int, started: datetime | None = None) -> None:
    """At start and then every so often, finishes Slack set-ups a crash or a Slack fault left incomplete
    (at start also this replica's own that a crash interrupted before `started`, without waiting for their
    lease to run out)."""
    from bot.incidents.service import SETUP_IN_PROGRESS

    log = logging.getLogger("hashi.repair")
    interval = min(30.0, max(1.0, lease / 2))
    while True:
        try:
            for setup in await service.repair_rooms(mine_since=started):
                if setup.missing and SETUP_IN_PROGRESS not in setup.missing:
                    log.warning("INC-%s still lacks %s", setup.incident.id, ", ".join(setup.missing))
                elif not setup.missing:
                    log.info("INC-%s set up", setup.incident.id)
            await service.refresh_due_reminders()
            await service.followups.file_pending_tickets()  # tickets a tracker outage left unfiled
            await service.status_pages.send_pending()  # status page updates Statuspage did not take yet
            await service.effects.show_pending()  # what a crash or a Slack failure left unshown
            await service.follow_private_rooms()  # who left a private room while no replica listened
            await service.send_due_pages()  # pages PagerDuty did not take yet (down, 429), or a crash left
        except Exception:  # a failed pass (database restarting, Slack down) is tried again next time
            log.exception("repair pass failed")
        await asyncio.sleep(interval)
