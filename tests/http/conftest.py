"""Apps built with other settings than the suite's (production mode, tight limits, legacy WebSockets).

They share the suite's database and broker: only the HTTP surface differs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from gualema.app import create_app
from gualema.settings import Settings
from tests.fixtures.api import LiveServer, free_port

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
ServerFactory = Callable[..., AbstractAsyncContextManager[LiveServer]]


def app_with(settings: Settings, **overrides: Any) -> Starlette:
    # Through the constructor, so the overrides are validated like environment variables are.
    return create_app(Settings(**{**settings.model_dump(), **overrides}), manage_database=False)


@pytest.fixture
def client_with(settings: Settings) -> ClientFactory:
    """`async with client_with(env="production") as http:` an ASGI client for an app with overrides."""

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app_with(settings, **overrides))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client

    return open_client


@pytest.fixture
def server_with(settings: Settings) -> ServerFactory:
    """`async with server_with(legacy_graphql_ws=True) as server:` uvicorn in-process, for WebSockets."""

    @asynccontextmanager
    async def serve(**overrides: Any) -> AsyncIterator[LiveServer]:
        port = free_port()
        config = uvicorn.Config(
            app_with(settings, **overrides),
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            ws_per_message_deflate=False,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        deadline = asyncio.get_running_loop().time() + 10
        while not server.started:
            assert not task.done(), "uvicorn stopped while starting"
            assert asyncio.get_running_loop().time() < deadline, "uvicorn did not start in 10 s"
            await asyncio.sleep(0.02)
        try:
            yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/graphql")
        finally:
            server.should_exit = True
            await task

    return serve
