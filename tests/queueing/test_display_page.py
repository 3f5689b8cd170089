"""The waiting-room page in headless Chromium: a call made through the API appears on the screen.

Needs Debian's `chromium` (and `fonts-noto-cjk` for legible screenshots); skipped without it.
The page is driven over the DevTools protocol with the `websockets` package.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from starlette.applications import Starlette

from gualema.settings import get_settings
from models.access_tokens import issue_access_token
from tests import factories
from tests.fixtures.api import GraphQLClient, LiveServer, free_port
from tests.queueing.conftest import CALL_NEXT, Clinic, arrive, display_token

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
DEADLINE_SECONDS = 15.0

requires_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary: `apt-get install -y chromium fonts-noto-cjk` to run this test",
)


@pytest.fixture
def chromium() -> Iterator[str]:
    """A headless Chromium; yields its DevTools HTTP address."""
    assert CHROMIUM is not None
    profile = Path(tempfile.mkdtemp(prefix="gualema-chromium-"))
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not port_file.exists() or not port_file.read_text().strip():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("chromium did not open its DevTools port")
        time.sleep(0.05)
    port = port_file.read_text().split()[0]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """One browser tab over the DevTools protocol."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self._ids = itertools.count(1)

    async def command(self, method: str, **params: Any) -> dict[str, Any]:
        command_id = next(self._ids)
        await self.connection.send(json.dumps({"id": command_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await asyncio.wait_for(self.connection.recv(), DEADLINE_SECONDS))
            if reply.get("id") == command_id:
                assert "error" not in reply, reply
                result: dict[str, Any] = reply["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.command("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, expected: Any) -> Any:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            value = await self.evaluate(expression)
            if value == expected or time.monotonic() > deadline:
                return value
            await asyncio.sleep(0.05)  # polling the page with a bounded deadline


@asynccontextmanager
async def open_page(devtools: str) -> AsyncIterator[Page]:
    async with httpx.AsyncClient() as client:
        targets = (await client.get(f"{devtools}/json/list")).json()
    tab = next(t for t in targets if t["type"] == "page")
    async with websockets.connect(tab["webSocketDebuggerUrl"], max_size=None) as connection:
        yield Page(connection)


@asynccontextmanager
async def restartable_server(app: Starlette, port: int) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """The app on a fixed port; the yielded `restart` stops it (closing every socket, as a deploy
    does) and starts it again on the same port."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start() -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            assert not task.done(), "uvicorn stopped while starting"
            await asyncio.sleep(0.02)
        servers.append((server, task))

    async def stop() -> None:
        server, task = servers.pop()
        server.should_exit = True
        await task

    async def restart() -> None:
        await stop()
        await start()

    await start()
    try:
        yield restart
    finally:
        await stop()


STATUS = "document.getElementById('status').dataset.state"


@requires_chromium
async def test_the_page_shows_reconnecting_and_comes_back_when_the_server_restarts(
    gql: GraphQLClient, app: Starlette, clinic: Clinic, chromium: str
) -> None:
    token = await display_token(gql, clinic.room_id)
    port = free_port()
    async with restartable_server(app, port) as restart, open_page(chromium) as page:
        await page.command(
            "Page.navigate", url=f"http://127.0.0.1:{port}/display/{clinic.room_id}?token={token}"
        )
        live = await page.wait_for(STATUS, "live")

        await restart()

        reconnecting = await page.wait_for(STATUS, "reconnecting")
        shown = await page.evaluate("document.getElementById('status').textContent")
        retried = await page.wait_for("window.displayConnections >= 2", True)
        live_again = await page.wait_for(STATUS, "live")

    assert (live, reconnecting, retried, live_again) == ("live", "reconnecting", True, "live")
    assert shown.startswith("reconnecting…")


@requires_chromium
async def test_a_refused_token_or_room_is_said_and_the_page_stops_trying(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic, chromium: str
) -> None:
    other_room = await factories.room()
    token = await display_token(gql, clinic.room_id)
    expiring, _ = issue_access_token(
        get_settings().secret_key.get_secret_value(),
        subject=None,
        role="display",
        lifetime=timedelta(seconds=3),
        room_ids=frozenset({clinic.room_id}),
    )
    cases = {
        "forged token": (f"/display/{clinic.room_id}?token=forged.{token[7:]}", "显示令牌无效"),
        "token expiring while shown": (f"/display/{clinic.room_id}?token={expiring}", "显示令牌无效"),
        "another room": (f"/display/{other_room.id}?token={token}", "诊室不符"),
    }
    shown: dict[str, tuple[str, str, int]] = {}
    async with open_page(chromium) as page:
        for name, (path, _) in cases.items():
            await page.command("Page.navigate", url=f"{live_server.url}{path}")
            state = await page.wait_for(STATUS, "refused")
            text = await page.evaluate("document.getElementById('status').textContent")
            # Nothing scheduled another attempt: the count stays where the refusal left it
            connections = await page.evaluate("window.displayConnections")
            shown[name] = (state, text, connections)

    for name, (_, words) in cases.items():
        state, text, connections = shown[name]
        assert (state, words in text, connections) == ("refused", True, 1), name


@requires_chromium
async def test_a_call_made_through_the_api_appears_on_the_waiting_room_page(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic, chromium: str
) -> None:
    await arrive(gql, clinic, name="张小三", number=1)
    await arrive(gql, clinic, name="李四", number=2)
    token = await display_token(gql, clinic.room_id)

    async with open_page(chromium) as page:
        await page.command("Page.navigate", url=f"{live_server.url}/display/{clinic.room_id}?token={token}")
        status = await page.wait_for("document.getElementById('status').dataset.state", "live")
        before = await page.evaluate("document.getElementById('next').innerText")

        await gql.as_(clinic.doctor_login.token).data(CALL_NEXT, {"roomId": str(clinic.room_id)})

        label = await page.wait_for("document.getElementById('current-label').textContent", "A001")
        name = await page.evaluate("document.getElementById('current-name').textContent")
        after = await page.evaluate("document.getElementById('next').innerText")
        announced = await page.evaluate("'speechSynthesis' in window ? window.lastAnnouncement : 'A001'")

    assert status == "live"
    assert ("A001" in before, "A002" in before) == (True, True)
    assert (label, name) == ("A001", "张*三")
    assert ("A001" in after, "A002" in after) == (False, True)
    assert announced == "A001"


async def test_the_page_is_served_without_leaking_its_token(gql: GraphQLClient, clinic: Clinic) -> None:
    response = await gql.http.get(f"/display/{clinic.room_id}?token=abc")

    assert response.status_code == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "graphql-transport-ws" in response.text
    assert "abc" not in response.text
