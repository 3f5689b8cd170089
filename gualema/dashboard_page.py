"""The statistics big screen (数据大屏): one static HTML file that subscribes to `dashboard`.

Served like the waiting-room page (decision 066): the token travels in the URL, so the same headers
keep it out of Referer and caches; the page draws its charts in SVG itself, nothing from a CDN.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from gualema.display_page import HEADERS

PAGE = Path(__file__).resolve().parent / "static" / "dashboard.html"


@lru_cache(maxsize=1)
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


async def dashboard_page(request: Request) -> Response:
    return HTMLResponse(_page(), headers=HEADERS)


def dashboard_routes() -> list[BaseRoute]:
    return [Route("/dashboard", dashboard_page, methods=["GET"])]
