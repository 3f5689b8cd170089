"""A WebSocket client as light as a display can be, for bench/fanout.py.

A real waiting-room TV is a device of its own; here thousands of them share the servers' two cores,
so whatever a display costs shows up as server latency. The `websockets` library costs tens of
microseconds per received message (its frame reader, a queue, a task wake-up) and `json.loads` of a
board as much again, which at 5000 displays × 5 calls/s is more CPU than the servers spend. This
client reads frames straight from the transport in `data_received` (server frames are unmasked; it
masks its own, as RFC 6455 requires) and hands each text message to a callback with the time it
arrived. Callers parse each distinct message once: every display of a board receives the very same
bytes (same subscription id, same frame), so the parse is shared through `ParsedMessages`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

TEXT, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x8, 0x9, 0xA, 0x0


class LeanWebSocket(asyncio.Protocol):
    def __init__(self, on_text: Callable[[bytes, float], None]) -> None:
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.handshaken = False
        self.fragments = bytearray()

    @classmethod
    async def connect(
        cls, url: str, subprotocol: str, on_text: Callable[[bytes, float], None]
    ) -> LeanWebSocket:
        parts = urlsplit(url)
        loop = asyncio.get_running_loop()
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        _, protocol = await loop.create_connection(lambda: cls(on_text), host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {subprotocol}\r\n\r\n"
        )
        assert protocol.transport is not None
        protocol.transport.write(request.encode())
        await protocol.opened
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)  # watchers look at `closed`; how it ended is not a figure

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.handshaken:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            del self.buffer[: end + 4]
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.handshaken = True
            self.opened.set_result(None)
        self._frames(now)

    def _frames(self, now: float) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            length, start = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = struct.unpack_from("!H", buffer, 2)[0], 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            opcode, final = first & 0x0F, first & 0x80
            if opcode in (TEXT, CONTINUATION):
                if not final:
                    self.fragments += payload
                    continue
                if self.fragments:
                    payload, self.fragments = bytes(self.fragments) + payload, bytearray()
                self.on_text(payload, now)
            elif opcode == PING:
                self._send(PONG, payload)
            elif opcode == CLOSE:
                if not self.closed.done():
                    self.closed.set_result(None)
                if self.transport is not None:
                    self.transport.close()
                return

    def send_text(self, text: str) -> None:
        self._send(TEXT, text.encode())

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        repeated = (mask * (length // 4 + 1))[:length]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(header + mask + masked)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class ParsedMessages:
    """`json.loads` once per distinct message; bounded (boards change with every call)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.parsed: dict[bytes, Any] = {}

    def __call__(self, raw: bytes) -> Any:
        found = self.parsed.get(raw)
        if found is None:
            found = json.loads(raw)
            if len(self.parsed) >= self.size:
                self.parsed.clear()
            self.parsed[raw] = found
        return found
