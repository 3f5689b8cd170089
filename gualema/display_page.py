"""The waiting-room display page: one static HTML file with a tiny graphql-transport-ws client.

The page reads its room and display token from its own URL and subscribes to `queueBoard`; the
server only serves the file. No build step, no third-party script (decision 066).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

PAGE = Path(__file__).resolve().parent / "static" / "display.html"

# The token travels in the URL: keep it out of Referer headers and caches, and allow the page to
# talk only to this server.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
    ),
}


def page_route(path: str, page: Path) -> Route:
    """A static page that reads its token from its own URL, served with the headers above."""

    @lru_cache(maxsize=1)
    def text() -> str:
        return page.read_text(encoding="utf-8")

    async def serve(_request: Request) -> Response:
        return HTMLResponse(text(), headers=HEADERS)

    return Route(path, serve, methods=["GET"])


def display_routes() -> list[BaseRoute]:
    return [page_route("/display/{room_id:int}", PAGE)]
