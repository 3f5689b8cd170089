"""Ready-made WebSocket frames written straight to a connection's socket.

A board change goes to hundreds of displays as the same bytes. Through ASGI each of them would be
framed again by uvicorn and websockets behind a chain of `send` wrappers; here the frame is built
once and handed to the transport of each connection (decision 271). Server frames are not masked,
so one frame serves every connection whose subscription has the same id.

`WebSocketWire`, the outermost middleware, finds uvicorn's WebSocket protocol behind the raw ASGI
`send` and leaves a `Wire` in the scope. Under any other server (or another uvicorn WebSocket
implementation) there is no wire and callers send through ASGI as usual.
"""

from __future__ import annotations

import struct
from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

WIRE_KEY = "gualema.websocket_wire"

# Bytes a connection may have waiting in its socket buffer before frames for it are skipped: a few
# boards' worth. A display that far behind gets the whole current board once it drains (whole
# states, decision 096) instead of a queue that grows while its TCP window is shut.
MAX_UNSENT_BYTES = 64 * 1024

Written = Literal["written", "full", "closed"]


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame (RFC 6455 §5.2) carrying `payload` (UTF-8 JSON)."""
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


class Wire:
    """A connection's socket, for frames built elsewhere. Only whole frames are written, in the
    event loop's thread, so they never interleave with the frames uvicorn writes itself."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def write(self, frame: bytes) -> Written:
        protocol = self._protocol
        transport = protocol.transport
        if protocol.close_sent or protocol.disconnected or transport.is_closing():
            return "closed"
        if transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            return "full"
        transport.write(frame)
        return "written"


def wire_of(scope: Scope) -> Wire | None:
    wire = scope.get(WIRE_KEY)
    return wire if isinstance(wire, Wire) else None


class WebSocketWire:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            protocol = getattr(send, "__self__", None)
            if isinstance(protocol, WebSocketsSansIOProtocol):
                scope[WIRE_KEY] = Wire(protocol)
        await self.app(scope, receive, send)
