"""Non-GraphQL POST routes cap their bodies; server limits and the trusted-proxy rule reach uvicorn."""

from __future__ import annotations

import uvicorn

from gualema.cli import server_options
from gualema.settings import Settings
from tests.http.conftest import ClientFactory


async def test_a_200_mb_notification_claim_is_refused_before_reading(client_with: ClientFactory) -> None:
    read = 0

    async def body():  # type: ignore[no-untyped-def]
        nonlocal read
        for _ in range(10):
            read += 1
            yield b"x" * 1024

    async with client_with() as http:
        for path in ("/payments/notify/wechat", "/payments/notify/sandbox"):
            response = await http.post(path, content=body(), headers={"content-length": str(200 * 2**20)})
            assert response.status_code == 413
    assert read == 0


async def test_a_streamed_notification_over_64_kib_gets_413(client_with: ClientFactory) -> None:
    async def body():  # type: ignore[no-untyped-def]
        for _ in range(200):
            yield b"x" * 1024

    async with client_with() as http:
        response = await http.post("/payments/notify/alipay", content=body())
    assert response.status_code == 413


def test_server_limits_and_trusted_proxies_reach_uvicorn_config() -> None:
    settings = Settings(
        forwarded_allow_ips="10.0.0.5",
        http_limit_concurrency=77,
        http_keep_alive_seconds=9,
        http_max_incomplete_event_bytes=4096,
    )
    config = uvicorn.Config("gualema.asgi:app", **server_options(settings))
    assert config.forwarded_allow_ips == "10.0.0.5"
    assert config.limit_concurrency == 77
    assert config.timeout_keep_alive == 9
    assert config.h11_max_incomplete_event_size == 4096
    assert Settings().forwarded_allow_ips == "127.0.0.1"
