"""A WebSocket lives only as long as the token that opened it (issue 13.7).

Permission classes run once, at subscribe time, so a subscription would outlive its token. One
watcher per connection, started when the connection is acknowledged, closes the socket when the
token expires or is revoked (logout, logout-everywhere, a refresh token's reuse, a disabled account,
a revoked display): every subscription on it ends, today's fields and any added later, with a close
code a client can act on. graphql-ws (the reference client) treats 4401 and 4403 as final, so it does
not reconnect blindly: it refreshes the token (or logs in) and connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextvars import ContextVar

from starlette.websockets import WebSocket, WebSocketState

from models import access_revocations
from models.clock import utcnow
from resolvers.context import Viewer

log = logging.getLogger("gualema.session_watch")

TOKEN_EXPIRED = (4401, "token expired")
TOKEN_REVOKED = (4403, "token revoked")

# The watchers of the connection being served (set per WebSocket by the endpoint, read when the
# connection is acknowledged, cancelled when the connection ends).
watchers: ContextVar[list[asyncio.Task[None]]] = ContextVar("gualema_session_watchers")


def watch(websocket: WebSocket, viewer: Viewer, *, check_seconds: float, refresh_seconds: float) -> None:
    started = watchers.get(None)
    if started is None or not viewer.is_authenticated:
        return
    started.append(
        asyncio.create_task(
            end_with_token(websocket, viewer, check_seconds=check_seconds, refresh_seconds=refresh_seconds),
            name="session-watch",
        )
    )


async def end_with_token(
    websocket: WebSocket, viewer: Viewer, *, check_seconds: float, refresh_seconds: float
) -> None:
    while websocket.application_state is WebSocketState.CONNECTED:
        left = (viewer.expires_at - utcnow()).total_seconds() if viewer.expires_at else check_seconds
        if left <= 0:
            await _close(websocket, *TOKEN_EXPIRED)
            return
        await asyncio.sleep(min(check_seconds, left))
        try:
            await access_revocations.refresh_if_stale(refresh_seconds)
        except Exception as exc:  # a database hiccup is no reason to end a session; check again later
            log.warning("revocations not refreshed: %s", type(exc).__name__)
        if access_revocations.refuses(viewer.account_id, viewer.token_id, viewer.issued_at, viewer.family):
            await _close(websocket, *TOKEN_REVOKED)
            return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError):  # the client closed it meanwhile
            await websocket.close(code=code, reason=reason)
