"""A WebSocket lives only as long as the token that opened it (issue 13.7).

Permission classes run once, at subscribe time, so a subscription would outlive its token. The
endpoint's `SessionWatch` (one per application) closes a socket when its token expires or is revoked
(logout, logout-everywhere, a refresh token's reuse, a disabled account, a revoked display): every
subscription on it ends, today's fields and any added later, with a close code a client can act on.
graphql-ws (the reference client) treats 4401 and 4403 as final, so it does not reconnect blindly: it
refreshes the token (or logs in) and connects again.

One watcher per process, not one task per socket (decision 272): expiry is a timer handle per socket
(exact), revocation one pass over the open sockets every `check_seconds` after one refresh of the
shared revocation list. A waiting room keeps hundreds of display sockets open all day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketState

from models import access_revocations
from models.clock import utcnow
from resolvers.context import Viewer

log = logging.getLogger("gualema.session_watch")

TOKEN_EXPIRED = (4401, "token expired")
TOKEN_REVOKED = (4403, "token revoked")


class SessionWatch:
    def __init__(self, *, check_seconds: float, refresh_seconds: float) -> None:
        self.check_seconds = check_seconds
        self.refresh_seconds = refresh_seconds
        # By the connection's ASGI scope (the endpoint knows the scope, strawberry makes the WebSocket).
        self._sockets: dict[int, tuple[WebSocket, Viewer, asyncio.TimerHandle | None]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._checker: asyncio.Task[None] | None = None

    def watch(self, websocket: WebSocket, viewer: Viewer) -> None:
        if not viewer.is_authenticated:
            return
        loop = asyncio.get_running_loop()
        expiry = None
        if viewer.expires_at is not None:
            left = (viewer.expires_at - utcnow()).total_seconds()
            expiry = loop.call_later(max(left, 0.0), self._close_soon, id(websocket.scope), TOKEN_EXPIRED)
        self._sockets[id(websocket.scope)] = (websocket, viewer, expiry)
        if self._checker is None or self._checker.done():
            self._checker = loop.create_task(self._check_revocations(), name="session-watch")

    def forget(self, scope: Scope) -> None:
        """The connection ended (the endpoint calls this for every WebSocket it served)."""
        watched = self._sockets.pop(id(scope), None)
        if watched is not None and watched[2] is not None:
            watched[2].cancel()
        if not self._sockets and self._checker is not None:
            self._checker.cancel()
            self._checker = None

    async def _check_revocations(self) -> None:
        while self._sockets:
            await asyncio.sleep(self.check_seconds)
            try:
                await access_revocations.refresh_if_stale(self.refresh_seconds)
            except Exception as exc:  # a database hiccup is no reason to end a session; check again later
                log.warning("revocations not refreshed: %s", type(exc).__name__)
                continue
            for key, (_, viewer, _) in list(self._sockets.items()):
                if access_revocations.refuses(
                    viewer.account_id, viewer.token_id, viewer.issued_at, viewer.family
                ):
                    self._close_soon(key, TOKEN_REVOKED)

    def _close_soon(self, key: int, code_and_reason: tuple[int, str]) -> None:
        watched = self._sockets.pop(key, None)
        if watched is None:
            return
        websocket, _, expiry = watched
        if expiry is not None:
            expiry.cancel()
        task = asyncio.get_running_loop().create_task(_close(websocket, *code_and_reason))
        self._closing.add(task)  # held until done: a task nobody references may be collected
        task.add_done_callback(self._closing.discard)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError):  # the client closed it meanwhile
            await websocket.close(code=code, reason=reason)
