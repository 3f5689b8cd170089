"""A deliberately small HTTP/1.1 keep-alive client for the benchmarks.

httpx spends a few milliseconds of CPU per request; on a 2-core machine the load generator then
competes with the server it measures and the latency figures describe the client. This client
writes pre-encoded requests and reads Content-Length bodies, nothing else (no chunking, no TLS).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def encode_post(host: str, path: str, payload: dict[str, Any], headers: dict[str, str]) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
        "",
        "",
    ]
    return "\r\n".join(lines).encode() + body


class RawConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> RawConnection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        return cls(reader, writer)

    async def send(self, request: bytes) -> RawResponse:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = 0
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = await self.reader.readexactly(length) if length else b""
        return RawResponse(status, body)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


class RawPool:
    """`size` keep-alive connections per URL, handed out round-robin to whoever is free."""

    def __init__(self, urls: list[str], size: int) -> None:
        self.urls = urls
        self.size = size
        self.free: asyncio.Queue[tuple[str, RawConnection]] = asyncio.Queue()
        self.all: list[RawConnection] = []

    async def open(self) -> None:
        for i in range(self.size):
            url = self.urls[i % len(self.urls)]
            connection = await RawConnection.open(url)
            self.all.append(connection)
            self.free.put_nowait((url, connection))

    async def post(
        self, path: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> tuple[RawResponse, float]:
        """The response and the seconds it took once a connection was free (queueing excluded)."""
        url, connection = await self.free.get()
        request = encode_post(urlsplit(url).netloc, path, payload, headers)
        started = time.perf_counter()
        try:
            response = await connection.send(request)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            await connection.close()
            self.all.remove(connection)
            connection = await RawConnection.open(url)
            self.all.append(connection)
            raise
        finally:
            self.free.put_nowait((url, connection))
        return response, time.perf_counter() - started

    async def close(self) -> None:
        for connection in self.all:
            await connection.close()
