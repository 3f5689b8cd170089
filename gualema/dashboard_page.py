"""The statistics big screen (数据大屏): one static HTML file that subscribes to `dashboard`.

Served like the waiting-room page (decision 066): the token travels in the URL, so the same headers
keep it out of Referer and caches; the page draws its charts in SVG itself, nothing from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute

from gualema.display_page import page_route

PAGE = Path(__file__).resolve().parent / "static" / "dashboard.html"


def dashboard_routes() -> list[BaseRoute]:
    return [page_route("/dashboard", PAGE)]
