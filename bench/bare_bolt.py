"""The floor: a bare Bolt AsyncApp that only acks, served the way Hashi serves (aiohttp + Bolt's adapter).

    .venv/bin/python bench/bare_bolt.py --port 3100 --secret S --token xoxb-… --api-url http://…/api/

ack_latency.py and memory.py start it as a subprocess beside `hashi serve --http`. Same signing secret,
same request verification, same single-team authorization (auth.test against the same stand-in), same
`process_before_response=False`; its listeners call `ack()` and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build(*, secret: str, token: str, api_url: str) -> web.Application:
    """The bare app behind POST /slack/events, with GET /healthz."""
    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=api_url),
        signing_secret=secret,
        logger=logging.getLogger("bare.bolt"),
    )

    @app.command("/incident")
    async def command(ack: AsyncAck) -> None:
        await ack()

    @app.action(re.compile(".*"))
    async def action(ack: AsyncAck) -> None:
        await ack()

    @app.view(re.compile(".*"))
    async def view(ack: AsyncAck) -> None:
        await ack()

    async def slack_events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    return web_app


async def serve(args: argparse.Namespace) -> None:
    runner = web.AppRunner(build(secret=args.secret, token=args.token, api_url=args.api_url), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-url", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
