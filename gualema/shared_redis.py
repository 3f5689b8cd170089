"""One Redis client per URL for the request path (APQ store, rate-limit buckets), shared by every app
built in the process and closed with the app's lifespan, so test apps built per scenario do not each
leave a connection pool behind."""

from __future__ import annotations

from redis.asyncio import Redis

_clients: dict[str, Redis] = {}


def shared_redis(url: str) -> Redis:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = Redis.from_url(url)
    return client


async def close_shared_redis() -> None:
    clients = list(_clients.values())
    _clients.clear()
    for client in clients:
        await client.aclose()
