"""What the fake provider servers share: a ledger of texts by idempotency key, planned failures,
per-number flow control like the real services, and serving a Starlette app on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import uvicorn
from starlette.applications import Starlette


@dataclass
class DeliveredText:
    phone: str
    template: str
    params: dict[str, str] | list[str]
    idempotency_key: str
    message_id: str


@dataclass
class FakeSmsLedger:
    # Error codes to answer, in order, before delivering again (e.g. two timeouts' worth of errors).
    planned_failures: deque[str] = field(default_factory=deque)
    # Per-number flow control as the real services apply it; None: unlimited.
    per_number_per_minute: int | None = None
    texts: list[DeliveredText] = field(default_factory=list)
    requests_by_key: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # error codes answered
    _sent_at: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))

    def fail_next(self, *codes: str) -> None:
        self.planned_failures.extend(codes)

    def texts_by_key(self) -> Counter[str]:
        return Counter(text.idempotency_key for text in self.texts)

    def delivered_before(self, key: str) -> DeliveredText | None:
        return next((text for text in self.texts if text.idempotency_key == key), None)

    def over_flow_control(self, phone: str) -> bool:
        if self.per_number_per_minute is None:
            return False
        now = datetime.now(UTC)
        recent = [at for at in self._sent_at[phone] if at > now - timedelta(minutes=1)]
        self._sent_at[phone] = recent
        return len(recent) >= self.per_number_per_minute

    def record(self, text: DeliveredText) -> None:
        self.texts.append(text)
        self._sent_at[text.phone].append(datetime.now(UTC))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 inside the running event loop; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await task
