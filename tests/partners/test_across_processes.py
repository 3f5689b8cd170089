"""Two server processes: a revoked key is refused by the other within seconds, and a key's bucket
shared through Redis is never exceeded however the requests are spread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from gualema.database import dialect
from tests.conftest import REDIS_URL
from tests.fixtures.api import ServerProcess
from tests.partners.conftest import DEPARTMENTS, PartnerDesk, document_id, new_application

# Each process reloads its copy of the keys when older than this: 0 makes it every request.
FRESH = {"GUALEMA_REVOCATION_REFRESH_SECONDS": "0"}
TYPENAME = "query Typename { __typename }"  # costs 1, requested and actual: nothing is refunded


def needs_shared_database() -> None:
    if dialect() == "sqlite":
        pytest.skip("SQLite is the single-process embedded default; scale-out needs PostgreSQL or MariaDB")


async def test_a_key_revoked_in_one_process_is_refused_by_the_other(
    server_processes: Callable[..., ServerProcess], desk: PartnerDesk
) -> None:
    needs_shared_database()
    first, second = server_processes(extra_env=FRESH), server_processes(extra_env=FRESH)
    app = new_application()
    await desk.manifest(app, DEPARTMENTS)
    partner = await desk.key(app)
    request = {"documentId": document_id(DEPARTMENTS)}
    async with httpx.AsyncClient(timeout=30) as client:
        before = await client.post(f"{second.url}/graphql", json=request, headers=partner.headers)
        revoked = await client.post(
            f"{first.url}/graphql",
            json={
                "query": "mutation($id: ID!) { revokePartnerKey(id: $id) { __typename } }",
                "variables": {"id": partner.key_id},
            },
            headers={"Authorization": f"Bearer {desk.gql.token}"},
        )
        after = await client.post(f"{second.url}/graphql", json=request, headers=partner.headers)

    assert before.status_code == 200
    assert revoked.json()["data"]["revokePartnerKey"]["__typename"] == "PartnerKey"
    assert after.status_code == 401


async def test_two_processes_sharing_redis_never_let_a_key_exceed_its_bucket(
    server_processes: Callable[..., ServerProcess], desk: PartnerDesk
) -> None:
    needs_shared_database()
    if not REDIS_URL:
        pytest.skip("the shared bucket lives in Redis (GUALEMA_TEST_REDIS_URL)")
    capacity, rate = 60, 1
    servers = [server_processes(extra_env=FRESH), server_processes(extra_env=FRESH)]
    app = new_application()
    await desk.manifest(app, TYPENAME)
    partner = await desk.key(app, bucketCapacity=capacity, restoreRate=rate, maxConcurrent=1000)
    request = {"documentId": document_id(TYPENAME)}

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:

        async def send(n: int) -> int:
            server = servers[n % 2]
            response = await client.post(f"{server.url}/graphql", json=request, headers=partner.headers)
            return response.status_code

        statuses: list[int] = []
        for wave in range(8):  # 8 waves of 20 concurrent requests, alternating between the processes
            statuses += await asyncio.gather(*(send(wave * 20 + n) for n in range(20)))
    elapsed = time.monotonic() - started

    allowed = statuses.count(200)
    assert set(statuses) <= {200, 429}
    # Each process alone would allow `capacity`: together they must not allow more than one bucket.
    assert capacity <= allowed <= capacity + rate * elapsed + 1
