"""SIGTERM under load: a real `python -m gualema serve` stops accepting, answers what it took, closes
subscriptions with 1012 (service restart: reconnect elsewhere) and hands its leases back."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets

from models.accounts import Account
from models.notifications import SmsMessage, SmsStatus
from tests.fixtures.api import GraphQLClient, ServerProcess

REGISTER = """
mutation($phone: String!) {
  register(input: {phone: $phone, password: "abc12345", name: "x"}) { __typename }
}"""
SEND_CODE = "mutation($phone: String!) { sendLoginCode(phone: $phone) { __typename } }"
CLIENTS = 8
_phones = (f"1770000{n:04d}" for n in itertools.count())


async def _hold_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # An SMS provider that accepts the request and never answers: the server's texts stay leased.
    await reader.read()
    writer.close()


async def _until(condition: Callable[[], Any], what: str, seconds: float = 60.0) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not await condition():  # noqa: ASYNC110 (another process's rows: no event to wait on)
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"waited {seconds:.0f} s for {what}")


async def _client(url: str, stop: asyncio.Event, outcomes: dict[str, list[str]]) -> None:
    """Registers accounts one request per connection until the server refuses to connect."""
    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
    ) as http:
        while True:
            phone = next(_phones)
            try:
                response = await http.post(
                    "/graphql", json={"query": REGISTER, "variables": {"phone": phone}}
                )
            except httpx.ConnectError:
                outcomes["refused"].append(phone)
                return
            except (httpx.RemoteProtocolError, httpx.ReadError):
                outcomes["unanswered"].append(phone)  # checked below: never carried out
                if stop.is_set():
                    return
                continue
            typename = (
                response.json()["data"]["register"]["__typename"] if response.status_code == 200 else ""
            )
            outcomes["answered" if typename == "AuthPayload" else "failed"].append(
                f"{phone} {response.status_code}"
            )


async def test_sigterm_under_load_answers_or_refuses_every_request_and_releases_leases(
    server_processes: Callable[..., ServerProcess], gql: GraphQLClient
) -> None:
    for phone in ("13911110001", "13911110002"):  # two texts waiting before the server starts
        sent = await gql.data(SEND_CODE, {"phone": phone})
        assert sent["sendLoginCode"]["__typename"] == "LoginCodeSent"
    provider = await asyncio.start_server(_hold_forever, "127.0.0.1", 0)
    provider_port = provider.sockets[0].getsockname()[1]
    server = await asyncio.to_thread(
        server_processes,
        extra_env={
            "GUALEMA_RUN_WORKERS": "true",
            "GUALEMA_SMS_PROVIDER": "aliyun",
            "GUALEMA_SMS_ALIYUN_ENDPOINT": f"http://127.0.0.1:{provider_port}/",
            "GUALEMA_SMS_ALIYUN_ACCESS_KEY_ID": "LTAI-test",
            "GUALEMA_SMS_ALIYUN_ACCESS_KEY_SECRET": "test-secret",
            "GUALEMA_SMS_TIMEOUT_SECONDS": "120",
            "GUALEMA_SMS_TEMPLATE_CODES": json.dumps({"verification.code": "SMS_154950909"}),
            "GUALEMA_NOTIFICATION_LEASE_SECONDS": "300",
            "GUALEMA_SHUTDOWN_GRACE_SECONDS": "10",
            # the load registers many accounts from one address: lift the per-address register limit
            "GUALEMA_REGISTER_IP_LIMIT_PER_HOUR": "100000",
            "GUALEMA_REGISTER_IP_LIMIT_PER_DAY": "100000",
        },
    )

    async def texts_leased() -> bool:
        return await SmsMessage.filter(locked_until__isnull=False).count() == 2

    await _until(texts_leased, "the server's dispatcher to claim both texts")
    socket = await websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"

    outcomes: dict[str, list[str]] = {"answered": [], "refused": [], "unanswered": [], "failed": []}
    stop = asyncio.Event()
    load = [asyncio.create_task(_client(server.url, stop, outcomes)) for _ in range(CLIENTS)]

    async def under_load() -> bool:
        return len(outcomes["answered"]) >= CLIENTS

    try:
        await _until(under_load, "the load to get going")
    except BaseException:
        print("LOG", server.log_path.read_text()[-6000:])
        raise
    server.process.send_signal(signal.SIGTERM)
    stop.set()
    await asyncio.gather(*load)
    exit_code = await asyncio.to_thread(server.process.wait, 60)
    async with asyncio.timeout(10):
        await socket.wait_closed()
    provider.close()

    # uvicorn finishes its shutdown, then re-raises SIGTERM to end as the signal asked.
    assert exit_code in (0, -signal.SIGTERM), server.log_path.read_text()[-3000:]
    assert "Application shutdown complete" in server.log_path.read_text()
    assert outcomes["failed"] == [], outcomes
    # Every client ended refused: its connection turned away, or closed before any answer.
    assert len(outcomes["refused"]) + len(outcomes["unanswered"]) >= CLIENTS, outcomes
    answered = [entry.split()[0] for entry in outcomes["answered"]]
    assert await Account.filter(phone__in=answered).count() == len(answered)  # answered = done
    # A connection the server closed without an answer was never carried out: nothing half-done.
    assert await Account.filter(phone__in=outcomes["unanswered"]).count() == 0
    assert socket.close_code == 1012
    texts = await SmsMessage.all()
    assert [(t.status, t.locked_until) for t in texts] == [(SmsStatus.PENDING, None)] * 2
