"""/healthz says the process answers; /readyz says the database and broker answer too (503 otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from tortoise import connections

from gualema.database import dialect
from tests.conftest import DATABASE_URL, RUN_ID
from tests.fixtures.api import REPOSITORY, free_port, without_cost


async def test_healthz_answers_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_ready_when_the_database_and_broker_answer(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert (response.status_code, response.json()) == (
        200,
        {"status": "ready", "database": "ok", "broker": "ok"},
    )


@contextmanager
def serving(database_url: str) -> Iterator[str]:
    """A real server on `database_url` with the in-process broker, once it answers /healthz (it need
    not be ready)."""
    port = free_port()
    env = {
        **os.environ,
        "GUALEMA_DATABASE_URL": database_url,
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


@pytest.fixture
def server_without_database() -> Iterator[str]:
    """A real server whose database URL points at a PostgreSQL port nobody listens on."""
    closed_port = free_port()  # bound and released at once: nothing listens there
    with serving(f"postgres://postgres@127.0.0.1:{closed_port}/nothing") as url:
        yield url


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


READ_ONLY_LOGIN = f"ro_{RUN_ID}"
READ_ONLY_PASSWORD = "read-only-probe"


def login_as(database_url: str, user: str, password: str) -> str:
    parts = urlsplit(database_url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture
async def read_only_database_url(http: httpx.AsyncClient) -> AsyncIterator[str]:  # noqa: ARG001 - the app (and its tables) first
    """This run's database, through a login that can read every table and write none.

    PostgreSQL: a role whose transactions are read-only, as on a hot standby a failover left the
    application pointing at. MariaDB: a user whose write privileges were revoked (SELECT only).
    """
    conn = connections.get("default")
    name = DATABASE_URL.rsplit("/", 1)[1]
    if dialect() == "postgres":
        role = READ_ONLY_LOGIN
        await conn.execute_script(
            f"CREATE ROLE {role} LOGIN PASSWORD '{READ_ONLY_PASSWORD}';"
            f'GRANT CONNECT ON DATABASE "{name}" TO {role};'
            f"GRANT ALL ON SCHEMA public TO {role};"
            f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role};"
            f"ALTER ROLE {role} SET default_transaction_read_only = on;"
        )
        try:
            yield login_as(DATABASE_URL, role, READ_ONLY_PASSWORD)
        finally:
            # The role is the cluster's, not the run's database's: it must not outlive the test.
            await conn.execute_script(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}';"
                f"DROP OWNED BY {role}; DROP ROLE {role};"
            )
    else:
        hosts = ("%", "localhost", "127.0.0.1")
        users = ", ".join(f"'{READ_ONLY_LOGIN}'@'{host}'" for host in hosts)
        for host in hosts:
            user = f"'{READ_ONLY_LOGIN}'@'{host}'"
            await conn.execute_script(f"CREATE USER {user} IDENTIFIED BY '{READ_ONLY_PASSWORD}'")
            await conn.execute_script(f"GRANT SELECT ON `{name}`.* TO {user}")
        try:
            yield login_as(DATABASE_URL, READ_ONLY_LOGIN, READ_ONLY_PASSWORD)
        finally:
            await conn.execute_script(f"DROP USER {users}")


@pytest.mark.skipif(DATABASE_URL.startswith("sqlite"), reason="SQLite has no logins: query_only above")
async def test_readyz_is_503_when_the_database_login_can_read_but_not_write(
    read_only_database_url: str,
) -> None:
    # Given a server whose database answers SELECT for it but refuses every write
    with serving(read_only_database_url) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            # (it does read: an anonymous catalogue query is answered)
            read = await client.post("/graphql", json={"query": "{ departments { id } }"})

    # Then the process is alive, reads succeed, and it is not ready
    assert (health.status_code, without_cost(read.json())) == (200, {"data": {"departments": []}})
    assert (ready.status_code, ready.json()) == (
        503,
        {"status": "not ready", "database": "unreachable", "broker": "ok"},
    )
