"""/healthz says the process answers; /readyz says the database and broker answer too (503 otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from tortoise import connections

from tests.conftest import DATABASE_URL
from tests.fixtures.api import REPOSITORY, free_port


async def test_healthz_answers_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_ready_when_the_database_and_broker_answer(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert (response.status_code, response.json()) == (
        200,
        {"status": "ready", "database": "ok", "broker": "ok"},
    )


@pytest.fixture
def server_without_database() -> Iterator[str]:
    """A real server whose database URL points at a PostgreSQL port nobody listens on."""
    port = free_port()
    closed_port = free_port()  # bound and released at once: nothing listens there
    env = {
        **os.environ,
        "GUALEMA_DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port}/nothing",
        "GUALEMA_REDIS_URL": "",
        "GUALEMA_RUN_WORKERS": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gualema", "serve", "--port", str(port)],
        cwd=REPOSITORY,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start in 30 s"
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def test_readyz_is_503_while_the_database_is_unreachable_and_healthz_stays_ok(
    server_without_database: str,
) -> None:
    async with httpx.AsyncClient(base_url=server_without_database) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (
        503,
        {"status": "not ready", "database": "unreachable", "broker": "ok"},
    )


@pytest.mark.skipif(
    not DATABASE_URL.startswith("sqlite"), reason="SQLite's query_only stands in for a full disk"
)
async def test_readyz_is_503_when_the_database_reads_but_cannot_write(http: httpx.AsyncClient) -> None:
    # Given a database that still answers SELECT but refuses every write (as on a full disk or a
    # read-only file: SQLite's query_only fails writes the same way)
    conn = connections.get("default")
    await conn.execute_query("PRAGMA query_only = ON")
    try:
        ready = await http.get("/readyz")
    finally:
        await conn.execute_query("PRAGMA query_only = OFF")

    # Then the instance is not ready, and is again once writes succeed
    assert (ready.status_code, ready.json()) == (
        503,
        {"status": "not ready", "database": "unreachable", "broker": "ok"},
    )
    assert (await http.get("/readyz")).status_code == 200
