"""Anonymous callers are charged per client address, and WebSockets on connect and on subscribe, from
the same buckets as HTTP and with the same THROTTLED error (decision 221)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gualema.rate_limits.buckets import InProcessBuckets
from gualema.rate_limits.limiter import RateLimiter
from gualema.settings import Settings
from resolvers.context import ANONYMOUS, DISPLAY_ROLE, Context, Viewer
from tests import factories
from tests.conftest import REDIS_URL
from tests.fixtures.api import ServerProcess
from tests.http.conftest import ServerFactory
from tests.partners.conftest import DEPARTMENTS, PartnerDesk, new_application
from tests.partners.test_across_processes import FRESH, needs_shared_database

TRANSPORT_WS = Subprotocol("graphql-transport-ws")
TYPENAME = {"query": "{ __typename }"}  # costs 1


async def open_socket(
    url: str, payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> tuple[ClientConnection, dict[str, Any]]:
    """A graphql-transport-ws connection after connection_init: the socket and the ack, or the close."""
    ws = await connect(url, subprotocols=[TRANSPORT_WS], additional_headers=headers)
    init: dict[str, Any] = {"type": "connection_init"}
    if payload:
        init["payload"] = payload
    await ws.send(json.dumps(init))
    try:
        answer: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    except ConnectionClosed as closed:
        code, reason = (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")
        answer = {"closed": code, "reason": reason}
    return ws, answer


_addresses = itertools.count(1)


def new_address() -> dict[str, str]:
    """A client address of its own, told by the trusted proxy: buckets in Redis outlive a test."""
    n = next(_addresses)
    return {"X-Forwarded-For": f"203.0.{113 + n // 250}.{n % 250 + 1}"}


async def test_anonymous_requests_are_charged_to_their_address(server_with: ServerFactory) -> None:
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 only (decision 110): the proxy names the client.
    student, neighbour = new_address(), new_address()
    async with (
        server_with(anonymous_bucket_capacity=10, anonymous_restore_rate=1) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        answers = [await http.post("/graphql", json=TYPENAME, headers=student) for _ in range(12)]
        other = await http.post("/graphql", json=TYPENAME, headers=neighbour)

    first, refused = answers[0], answers[-1]
    assert first.json()["extensions"]["cost"] == {
        "requestedQueryCost": 1,
        "actualQueryCost": 1,
        "throttleStatus": {"maximumAvailable": 10, "currentlyAvailable": 9, "restoreRate": 1},
    }
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert refused.json()["errors"][0]["extensions"]["limit"] == "cost"
    assert other.status_code == 200
    assert other.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 9


async def test_a_websocket_connection_beyond_the_bucket_is_closed_try_again_later(
    server_with: ServerFactory,
) -> None:
    async with server_with(
        anonymous_bucket_capacity=25, anonymous_restore_rate=1, ws_connect_cost=10
    ) as server:
        address = new_address()
        first, first_answer = await open_socket(server.ws_url, headers=address)
        second, second_answer = await open_socket(server.ws_url, headers=address)
        third, third_answer = await open_socket(server.ws_url, headers=address)
        for ws in (first, second, third):
            await ws.close()

    assert first_answer == {"type": "connection_ack"}
    assert second_answer == {"type": "connection_ack"}
    assert third_answer["closed"] == 1013  # Try Again Later: graphql-ws reconnects after a backoff
    assert third_answer["reason"].startswith("THROTTLED cost; retry after ")


async def test_an_operation_subscribed_beyond_the_bucket_gets_the_throttled_error(
    server_with: ServerFactory,
) -> None:
    patient = await factories.patient_user()
    auth = {"Authorization": f"Bearer {patient.token}"}

    async with server_with(account_bucket_capacity=20, account_restore_rate=1, ws_connect_cost=10) as server:
        ws, ack = await open_socket(server.ws_url, auth)
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }"}}))
        answered = json.loads(await ws.recv())
        completed = json.loads(await ws.recv())
        await ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": {"query": DEPARTMENTS}}))
        refused = json.loads(await ws.recv())
        await ws.close()

    assert ack == {"type": "connection_ack"}
    assert answered == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"me": {"id": str(patient.account.id)}}},
    }
    assert completed == {"id": "1", "type": "complete"}
    assert refused["id"] == "2"
    assert refused["type"] == "error"
    [error] = refused["payload"]
    assert error["extensions"]["code"] == "THROTTLED"
    assert error["extensions"]["limit"] == "cost"
    assert error["extensions"]["cost"]["requestedQueryCost"] == 61  # departments × their planned doctors
    assert error["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 20


async def test_a_key_in_the_connection_params_is_charged_to_its_own_bucket(
    server_with: ServerFactory, desk: PartnerDesk
) -> None:
    app = new_application()
    await desk.manifest(app, DEPARTMENTS)
    partner = await desk.key(app, bucketCapacity=15, restoreRate=1)

    async with server_with(ws_connect_cost=10) as server:
        first, first_answer = await open_socket(server.ws_url, {"X-Api-Key": partner.key})
        second, second_answer = await open_socket(server.ws_url, {"X-Api-Key": partner.key})
        anonymous, anonymous_answer = await open_socket(server.ws_url, headers=new_address())
        revoked_key, revoked_answer = await open_socket(server.ws_url, {"X-Api-Key": "glk_not-a-key"})
        for ws in (first, second, anonymous, revoked_key):
            await ws.close()

    assert first_answer == {"type": "connection_ack"}
    assert second_answer["closed"] == 1013
    assert anonymous_answer == {"type": "connection_ack"}  # the address's bucket is another
    assert revoked_answer["closed"] == 4403


async def test_two_processes_sharing_redis_hold_an_address_to_one_bucket(
    server_processes: Callable[..., ServerProcess],
) -> None:
    needs_shared_database()
    if not REDIS_URL:
        pytest.skip("the shared bucket lives in Redis (GUALEMA_TEST_REDIS_URL)")
    capacity, rate = 60, 1
    limits = {
        **FRESH,
        "GUALEMA_ANONYMOUS_BUCKET_CAPACITY": str(capacity),
        "GUALEMA_ANONYMOUS_RESTORE_RATE": str(rate),
        "GUALEMA_WS_CONNECT_COST": "10",
    }
    servers = [server_processes(extra_env=limits), server_processes(extra_env=limits)]
    address, socket_address = new_address(), new_address()

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:

        async def send(n: int) -> int:
            response = await client.post(f"{servers[n % 2].url}/graphql", json=TYPENAME, headers=address)
            return response.status_code

        statuses: list[int] = []
        for wave in range(6):
            statuses += await asyncio.gather(*(send(wave * 20 + n) for n in range(20)))
    elapsed = time.monotonic() - started
    opened = time.monotonic()
    sockets = [await open_socket(servers[n % 2].ws_url, headers=socket_address) for n in range(10)]
    for ws, _answer in sockets:
        await ws.close()
    socket_seconds = time.monotonic() - opened

    allowed = statuses.count(200)
    assert set(statuses) <= {200, 429}
    assert capacity <= allowed <= capacity + rate * elapsed + 1
    acks = [answer for _ws, answer in sockets].count({"type": "connection_ack"})
    assert capacity // 10 <= acks <= capacity // 10 + rate * socket_seconds / 10 + 1  # 10 units a socket
    assert all(answer.get("closed") == 1013 for _ws, answer in sockets[acks:])


def test_each_screen_token_has_a_bucket_of_its_own_behind_one_address(settings: Settings) -> None:
    # Given two waiting-room TVs and a patient's phone on the hospital's one NAT address
    limiter = RateLimiter(settings, InProcessBuckets())
    first_tv = Viewer(role=DISPLAY_ROLE, room_ids=frozenset({1}), token_id="tv-1")
    second_tv = Viewer(role=DISPLAY_ROLE, room_ids=frozenset({2}), token_id="tv-2")

    def subject(viewer: Viewer) -> str:
        return limiter.subject_of(
            Context(request=None, response=None, settings=settings, viewer=viewer), None
        ).name

    # Then each screen spends its own budget, and neither spends the phone's
    assert [subject(first_tv), subject(second_tv), subject(ANONYMOUS)] == [
        "screen:tv-1",
        "screen:tv-2",
        "address:unknown",
    ]
