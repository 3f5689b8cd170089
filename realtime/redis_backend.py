"""A broadcaster backend on redis.asyncio that survives Redis restarts.

broadcaster 0.3.1's own Redis backend delivers nothing with redis-py 8 and its listener dies for good
on the first disconnect (docs/decisions/050-realtime-fan-out.md). This one owns a dedicated RESP2
pub/sub connection and a supervisor task that:
  - connects, SUBSCRIBEs every wanted channel and only then reports itself connected;
  - reads messages, pings after `health_interval` of silence and treats a second silence as a
    dead connection (a half-open TCP connection never reports an error by itself);
  - on any connection error reconnects with capped exponential backoff and jitter, resubscribes,
    and then emits a resync event so that every subscriber re-reads the database (anything published
    while the connection was down is lost: Redis pub/sub is at-most-once).
`subscribe()` returns once Redis has confirmed the subscription, so a message published after it
returns is delivered; if the connection is down it returns at once and the resync follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import secrets
from typing import Any

from broadcaster import BroadcastBackend, Event
from redis import asyncio as redis
from redis.asyncio.connection import Connection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger("realtime.redis")

# The channel of the synthetic event that tells the fan-out to resync every subscriber. It holds a
# NUL byte, which no prefixed channel name of ours does.
RESYNC_EVENT_CHANNEL = "\x00resync"


class SupervisedRedisBackend(BroadcastBackend):
    def __init__(
        self,
        url: str,
        *,
        backoff_initial: float = 0.05,
        backoff_max: float = 5.0,
        health_interval: float = 10.0,
        command_timeout: float = 3.0,
        client_label: str = "",
    ) -> None:
        self._url = url
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._health_interval = health_interval
        self._command_timeout = command_timeout
        # For PUBLISH and PING. One immediate retry replaces a pooled connection that died with a Redis
        # restart; more would hold the caller's request (already committed) for seconds.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=command_timeout,
            socket_connect_timeout=command_timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._wanted: set[str] = set()
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._connection: Connection | None = None
        self._connected = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._subscribed_while_down = False
        self.reconnects = 0
        # Names our pub/sub connection in CLIENT LIST (for operators, and for tests that cut exactly
        # their own run's connections on a shared Redis); Redis refuses spaces in names.
        label = re.sub(r"[^A-Za-z0-9_.:-]", "_", client_label)
        self.client_name = f"gualema-realtime:{label}:{secrets.token_hex(4)}"

    # -- BroadcastBackend

    async def connect(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name="realtime-redis-supervisor")
        # Start even when Redis is down (readiness reports it); wait briefly for the common case.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), self._command_timeout)

    async def disconnect(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self._drop_connection()
        await self._client.aclose()

    async def subscribe(self, channel: str) -> None:
        self._wanted.add(channel)
        connection = self._connection
        if connection is None or not self._connected.is_set():
            # The supervisor subscribes on connect and then resyncs everyone.
            self._subscribed_while_down = True
            return
        confirmation = asyncio.get_running_loop().create_future()
        self._confirmations[channel] = confirmation
        try:
            await connection.send_command("SUBSCRIBE", channel, check_health=False)
        except (RedisError, OSError):
            await self._drop_connection()
            return
        # Resolved by the reader on confirmation, or on connection loss (a resync follows).
        await confirmation

    async def unsubscribe(self, channel: str) -> None:
        self._wanted.discard(channel)
        connection = self._connection
        if connection is None or not self._connected.is_set():
            return
        try:
            await connection.send_command("UNSUBSCRIBE", channel, check_health=False)
        except (RedisError, OSError):
            await self._drop_connection()

    async def publish(self, channel: str, message: Any) -> None:
        await self._client.publish(channel, message)

    async def next_published(self) -> Event:
        return await self._events.get()

    # -- health

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def ping(self) -> bool:
        if not self._connected.is_set():
            return False
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    # -- supervision

    async def _supervise(self) -> None:
        failures = 0
        first = True
        while True:
            try:
                await self._open_connection()
                failures = 0
                if not first or self._subscribed_while_down:
                    self.reconnects += 0 if first else 1
                    log.warning("redis pub/sub (re)connected; resynchronising subscribers")
                    self._events.put_nowait(Event(RESYNC_EVENT_CHANNEL, "reconnected"))
                first = False
                self._subscribed_while_down = False
                await self._read_until_broken()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Any failure, expected (connection lost) or not, ends in a reconnect: the listener
                # must never die for good.
                log.warning("redis pub/sub connection lost: %s: %s", type(exc).__name__, exc)
            await self._drop_connection()
            delay = min(self._backoff_max, self._backoff_initial * 2**failures)
            failures += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _open_connection(self) -> None:
        kwargs: dict[str, Any] = dict(parse_url(self._url))
        connection_class = kwargs.pop("connection_class", Connection)
        connection: Connection = connection_class(
            **kwargs,
            protocol=2,  # plain arrays for pub/sub replies, no push-message handling
            retry=Retry(NoBackoff(), 0),  # reconnecting is ours to do, visibly
            socket_timeout=None,
            socket_connect_timeout=self._command_timeout,
            client_name=self.client_name,
        )
        await connection.connect()
        self._connection = connection
        confirmed: set[str] = set()
        # Channels wanted while we were subscribing are subscribed in the next round; there is no
        # await between the last check and `connected`, so none is forgotten.
        while missing := sorted(self._wanted - confirmed):
            await connection.send_command("SUBSCRIBE", *missing, check_health=False)
            while not confirmed.issuperset(missing):
                reply = await connection.read_response(timeout=self._command_timeout)
                if reply is None:
                    raise TimeoutError("SUBSCRIBE was not confirmed")
                self._dispatch(reply, confirmed)
        self._connected.set()

    async def _read_until_broken(self) -> None:
        connection = self._connection
        assert connection is not None
        awaiting_pong = False
        while True:
            reply = await connection.read_response(timeout=self._health_interval)
            if reply is None:
                if awaiting_pong:
                    raise TimeoutError(f"no reply from redis in {2 * self._health_interval:.0f} s")
                await connection.send_command("PING", check_health=False)
                awaiting_pong = True
                continue
            awaiting_pong = False
            self._dispatch(reply, None)

    def _dispatch(self, reply: Any, confirmed: set[str] | None) -> None:
        kind = reply[0]
        if kind == b"message":
            self._events.put_nowait(Event(reply[1].decode(), reply[2].decode()))
        elif kind == b"subscribe":
            channel = reply[1].decode()
            if confirmed is not None:
                confirmed.add(channel)
            confirmation = self._confirmations.pop(channel, None)
            if confirmation is not None and not confirmation.done():
                confirmation.set_result(None)

    async def _drop_connection(self) -> None:
        self._connected.clear()
        connection, self._connection = self._connection, None
        # Release subscribers waiting for a confirmation that will not come; they get a resync.
        for confirmation in self._confirmations.values():
            if not confirmation.done():
                confirmation.set_result(None)
        self._confirmations.clear()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect(nowait=True)
