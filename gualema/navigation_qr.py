"""`GET /navigation/qr/{markerId}.svg|.png`: a printable QR image of a signed marker (administrators).

The image is rendered by segno; it encodes the marker URL with its signature, never the bare id
(docs/decisions/082-signed-qr-markers.md).
"""

from __future__ import annotations

import io

import segno
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gualema.authentication import viewer_from_authorization
from gualema.settings import Settings
from models.access_tokens import InvalidToken
from models.navigation_markers import InvalidMarker
from resolvers.navigation import printable_marker_on_map

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
            viewer = viewer_from_authorization(
                request.headers.get("authorization"), settings.secret_key.get_secret_value()
            )
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

    return [Route("/navigation/qr/{marker_id}.{format}", marker_qr, methods=["GET"])]
