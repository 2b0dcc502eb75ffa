"""The stand-in's Socket Mode: envelopes to the connected app and its acknowledgements."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

from aiohttp import WSMsgType, web

from standin.state import (
    JSON,
)
from standin.workspace import Workspace

SOCKET_ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})


class SocketMode(Workspace):
    """Socket Mode over a WebSocket, as apps.connections.open hands out."""

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (asked-for API)
        """Waits until a Socket Mode client is connected; raises TimeoutError otherwise."""
        await asyncio.wait_for(self._socket_connected.wait(), timeout)

    async def socket_send(self, type: str, payload: JSON, *, timeout: float = 5.0) -> JSON:  # noqa: ASYNC109
        """Sends an envelope to the connected client and returns its acknowledgement."""
        if type not in SOCKET_ENVELOPE_TYPES:
            raise ValueError(f"Socket Mode envelope type must be one of {sorted(SOCKET_ENVELOPE_TYPES)}")
        await self.wait_socket_connected(timeout)
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": type != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        acknowledged: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending_acks[envelope_id] = acknowledged
        try:
            await self._sockets[-1].send_json(envelope)
            return await asyncio.wait_for(acknowledged, timeout)
        finally:
            self._pending_acks.pop(envelope_id, None)

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Asks connected clients to reconnect, as Slack does every few hours."""
        for socket in list(self._sockets):
            await socket.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "standin"}}
            )

    async def _serve_socket(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["ticket"] not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        socket = web.WebSocketResponse(autoping=True, timeout=2.0)
        await socket.prepare(request)
        self._sockets.append(socket)
        self.socket_connections += 1
        self._socket_connected.set()
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "standin", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    ack = json.loads(frame.data)
                    if isinstance(ack, dict) and "envelope_id" in ack:
                        self.socket_acks.append(ack)
                        pending = self._pending_acks.get(str(ack["envelope_id"]))
                        if pending is not None and not pending.done():
                            pending.set_result(ack)
        finally:
            self._sockets.remove(socket)
            if not self._sockets:
                self._socket_connected.clear()
        return socket
