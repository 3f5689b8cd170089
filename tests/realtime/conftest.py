"""Brokers for the realtime tests: each test gets its own channel prefix, on each backend available."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from realtime.broker import Broker, create_broker
from realtime.mailbox import Mailbox
from tests.conftest import REDIS_URL, RUN_ID

BrokerFactory = Callable[..., Awaitable[Broker]]

requires_redis = pytest.mark.skipif(REDIS_URL is None, reason="GUALEMA_TEST_REDIS_URL is unset")

DEADLINE_SECONDS = 10


@pytest.fixture
def prefix() -> str:
    return f"gualema-{RUN_ID}-{secrets.token_hex(3)}"


@pytest.fixture(params=["in-process", pytest.param("redis", marks=requires_redis)])
def backend_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "in-process" else REDIS_URL


@pytest.fixture
async def make_broker(prefix: str) -> AsyncIterator[Callable[..., Awaitable[Broker]]]:
    started: list[Broker] = []

    async def make(redis_url: str | None, **options: Any) -> Broker:
        broker = create_broker(redis_url, options.pop("prefix", prefix), **options)
        await broker.start()
        started.append(broker)
        return broker

    yield make
    for broker in started:
        await broker.stop()


async def next_message(messages: Mailbox) -> dict[str, Any]:
    return await asyncio.wait_for(anext(messages), DEADLINE_SECONDS)


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """The realtime layer is a leaf that never touches the database: no database, no wipe."""
