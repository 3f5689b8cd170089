"""Publishing and subscribing: one fan-out per process over a broadcaster backend.

The backend is broadcaster's in-process `MemoryBackend` by default and our `SupervisedRedisBackend`
when a Redis URL is configured (the only way messages cross processes). The fan-out is ours, not
`broadcaster.Broadcast`, whose subscribe races and whose queues are unbounded
(docs/decisions/050-realtime-fan-out.md).

Contract for callers:
- `publish(channel, message)` only after the transaction that caused it has committed; messages are
  JSON objects and must not use the type "resync". Delivery is at-most-once.
- `async with broker.subscribe(channel) as messages:` returns once the subscription is live (a
  message published after that is delivered unless a resync says otherwise), so subscribe first and
  read the snapshot second. `async for message in messages` yields the published dicts, shared
  between subscribers and so read-only, and `{"type": "resync", ...}` (realtime.messages) whenever
  messages may have been lost: send a fresh snapshot then. Iteration ends when the broker stops.
  realtime.ordered.sequenced() does all of that (and puts cross-process reorderings back in order).
- Channels are prefixed with the settings' prefix on the wire, so test runs and deployments sharing
  one Redis never see each other's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from broadcaster import BroadcastBackend
from broadcaster._backends.memory import MemoryBackend  # not re-exported; broadcaster is pinned
from redis.exceptions import RedisError

from realtime.mailbox import Mailbox
from realtime.messages import is_resync
from realtime.redis_backend import RESYNC_EVENT_CHANNEL, SupervisedRedisBackend

log = logging.getLogger("realtime.broker")

# Messages a subscriber may lag behind before it is told to resync; a queue board changes a few times
# a minute, so 64 is minutes of slack for a healthy client and nothing for a stalled one.
DEFAULT_SUBSCRIBER_BUFFER = 64


class Broker:
    def __init__(
        self, backend: BroadcastBackend, prefix: str, *, subscriber_buffer: int = DEFAULT_SUBSCRIBER_BUFFER
    ) -> None:
        self.backend = backend
        self.subscriber_buffer = subscriber_buffer
        self._prefix = f"{prefix}:"
        self._subscribers: dict[str, set[Mailbox]] = {}
        # Channels the backend is subscribed to; changed only under the lock, after comparing with
        # `_subscribers`, so concurrent first and last subscribers cannot undo each other.
        self._backend_channels: set[str] = set()
        self._lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.backend.connect()
        self._listener = asyncio.create_task(self._listen(), name="realtime-fan-out")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        for mailboxes in self._subscribers.values():
            for mailbox in mailboxes:
                mailbox.close()
        await self.backend.disconnect()

    async def ping(self) -> bool:
        if isinstance(self.backend, SupervisedRedisBackend):
            return await self.backend.ping()
        return self._listener is not None and not self._listener.done()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if is_resync(message):
            raise ValueError('"resync" is reserved for the realtime layer')
        payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        try:
            await self.backend.publish(self._prefix + channel, payload)
        except (RedisError, OSError) as exc:
            # The transaction has committed; failing the request now would lie to the caller.
            # Subscribers notice the gap by sequence number, or get a resync on reconnect.
            log.warning("publish to %s lost: %s", channel, type(exc).__name__)

    @asynccontextmanager
    async def subscribe(self, channel: str, *, buffer: int | None = None) -> AsyncIterator[Mailbox]:
        mailbox = Mailbox(buffer or self.subscriber_buffer)
        try:
            self._subscribers.setdefault(channel, set()).add(mailbox)
            await self._reconcile(channel)
            mailbox.live_since = asyncio.get_running_loop().time()
            yield mailbox
        finally:
            mailboxes = self._subscribers.get(channel)
            if mailboxes is not None:
                mailboxes.discard(mailbox)
                if not mailboxes:
                    del self._subscribers[channel]
            # Shielded: a cancelled subscriber must still leave the backend channel when it was last.
            await asyncio.shield(self._reconcile(channel))

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    async def _reconcile(self, channel: str) -> None:
        async with self._lock:
            wanted = bool(self._subscribers.get(channel))
            if wanted and channel not in self._backend_channels:
                await self.backend.subscribe(self._prefix + channel)
                self._backend_channels.add(channel)
            elif not wanted and channel in self._backend_channels:
                self._backend_channels.discard(channel)
                await self.backend.unsubscribe(self._prefix + channel)

    async def _listen(self) -> None:
        while True:
            try:
                await self._fan_out_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bad message or a backend bug must not end delivery for the whole process.
                log.exception("realtime fan-out failed; resynchronising subscribers")
                self._resync_everyone()

    async def _fan_out_next(self) -> None:
        event = await self.backend.next_published()
        if event.channel == RESYNC_EVENT_CHANNEL:
            self._resync_everyone()
            return
        if not event.channel.startswith(self._prefix):
            return
        mailboxes = self._subscribers.get(event.channel[len(self._prefix) :])
        if not mailboxes:
            return
        message = json.loads(event.message)  # once per event, shared by every subscriber
        for mailbox in list(mailboxes):
            mailbox.offer(message)

    def _resync_everyone(self) -> None:
        for mailboxes in list(self._subscribers.values()):
            for mailbox in list(mailboxes):
                mailbox.offer_resync("reconnected")


_broker: Broker | None = None


def create_broker(
    redis_url: str | None, prefix: str, *, subscriber_buffer: int = DEFAULT_SUBSCRIBER_BUFFER
) -> Broker:
    backend: BroadcastBackend = (
        SupervisedRedisBackend(redis_url, client_label=prefix) if redis_url else MemoryBackend("memory://")
    )
    return Broker(backend, prefix, subscriber_buffer=subscriber_buffer)


def set_broker(broker: Broker | None) -> None:
    global _broker
    _broker = broker


def get_broker() -> Broker:
    if _broker is None:
        raise RuntimeError("the broker is not started")
    return _broker
