"""`GET /navigation/qr/{markerId}.svg|.png`: a printable QR image of a signed marker (administrators),
and `GET /navigation/m/{code}`: the page a phone camera opens when it scans one.

The image is rendered by segno; it encodes the marker URL with its signature, never the bare id
(docs/decisions/082-signed-qr-markers.md).
"""

from __future__ import annotations

import html
import io
from urllib.parse import quote

import segno
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gualema.authentication import viewer_from_authorization
from gualema.display_page import HEADERS as PAGE_HEADERS
from gualema.settings import Settings
from models.access_tokens import InvalidToken
from models.navigation_markers import InvalidMarker
from resolvers.navigation.markers import marker_place, printable_marker_on_map

MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


def qr_image(url: str, image_format: str, scale: int) -> bytes:
    # Level M survives a scuffed wall sign; segno raises it further when the version allows.
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    if image_format == "svg":
        code.save(buffer, kind="svg", scale=scale, border=4, xmldecl=False)
    else:
        code.save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def navigation_qr_routes(settings: Settings) -> list[BaseRoute]:
    async def marker_qr(request: Request) -> Response:
        try:
            viewer = await viewer_from_authorization(request.headers.get("authorization"), settings)
        except InvalidToken:
            return _error(401, "the access token is invalid or expired; refresh it", "UNAUTHENTICATED")
        if not viewer.is_authenticated:
            return _error(401, "log in as an administrator to print QR markers", "UNAUTHENTICATED")
        if not viewer.is_admin:
            return _error(403, "only an administrator may print QR markers", "FORBIDDEN")
        image_format = request.path_params["format"]
        if image_format not in MEDIA_TYPES:
            return _error(404, "QR images are .svg or .png", "NOT_FOUND")
        scale_text = request.query_params.get("scale", "8")
        scale = int(scale_text) if scale_text.isdigit() and 1 <= int(scale_text) <= 40 else 8
        try:
            printable = await printable_marker_on_map(settings, request.path_params["marker_id"].upper())
        except InvalidMarker as exc:
            return _error(404, exc.message, "NOT_FOUND")
        image = qr_image(printable.url, image_format, scale)
        return Response(
            image, media_type=MEDIA_TYPES[image_format], headers={"Cache-Control": "private, max-age=300"}
        )

    async def marker_landing(request: Request) -> Response:
        # A phone camera that scans a wall marker opens this URL: say where the visitor stands and
        # hand over to the app, which asks for the route with the same code.
        code = request.path_params["code"]
        place = await marker_place(settings, code)
        if place is None:
            return HTMLResponse(
                _landing_page(
                    "二维码无效 / Invalid code",
                    "这个二维码无法识别，请扫描墙上的其他导航码。"
                    "<br>This code is not recognised; please scan another marker.",
                ),
                status_code=404,
                headers=PAGE_HEADERS,
            )
        where = f"{html.escape(place.building)} {html.escape(place.floor)} · {html.escape(place.point_name)}"
        body = (
            f"<p class=where>{where}</p>"
            "<p>在「挂了吗」小程序中打开即可导航到您预约的诊室。<br>"
            "Open this code in the Gualema app to be guided to the room of your booking.</p>"
            f"{_open_link(settings.miniprogram_link, code)}"
            f"<p><code>{html.escape(code)}</code></p>"
        )
        return HTMLResponse(_landing_page("您在这里 / You are here", body), headers=PAGE_HEADERS)

    return [
        Route("/navigation/qr/{marker_id}.{format}", marker_qr, methods=["GET"]),
        Route("/navigation/m/{code}", marker_landing, methods=["GET"]),
    ]


def _open_link(template: str, code: str) -> str:
    if not template:
        return ""
    href = template.replace("{code}", quote(code, safe=""))
    return (
        f"<p><a class=open href='{html.escape(href, quote=True)}'>"
        "在小程序中打开 / Open in the mini-program</a></p>"
    )


def _landing_page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem;line-height:1.6}"
        ".where{font-size:1.6rem;font-weight:bold}"
        ".open{display:block;padding:.8rem;border-radius:.5rem;background:#07c160;color:#fff;"
        "text-align:center;text-decoration:none;font-size:1.2rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
