"""One Redis client per URL for the request path (APQ store, rate-limit buckets), shared by every app
built in the process and closed with the app's lifespan, so test apps built per scenario do not each
leave a connection pool behind."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

# What an unreachable or failing Redis raises through redis-py (OSError: a socket broken mid-call).
REDIS_UNREACHABLE = (RedisError, OSError)

_clients: dict[str, Redis] = {}


def shared_redis(url: str) -> Redis:
    client = _clients.get(url)
    if client is None:
        # Bounded waits: a Redis that does not answer must degrade a request (decision 222), not hold it.
        client = _clients[url] = Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
    return client


async def close_shared_redis() -> None:
    clients = list(_clients.values())
    _clients.clear()
    for client in clients:
        await client.aclose()
