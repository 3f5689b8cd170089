"""/graphql over HTTP (GraphQL-over-HTTP spec) and WebSocket (graphql-transport-ws).

See docs/decisions/004-graphql-over-http.md for the status codes chosen.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult

from gualema.authentication import viewer_from_authorization
from gualema.settings import Settings
from models.access_tokens import InvalidToken
from resolvers.context import Context

log = logging.getLogger("gualema.graphql")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def _accepts_graphql_response(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return GRAPHQL_RESPONSE in accept


def _media_type(request: Request) -> str:
    return GRAPHQL_RESPONSE if _accepts_graphql_response(request) else JSON


def request_error(request: Request, status: int, message: str, code: str, **headers: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, media_type=_media_type(request), headers=headers or None)


class GraphQLEndpoint(GraphQL[Context, None]):
    def __init__(self, schema: BaseSchema, settings: Settings) -> None:
        protocols = [GRAPHQL_TRANSPORT_WS_PROTOCOL]
        if settings.legacy_graphql_ws:
            protocols.append(GRAPHQL_WS_PROTOCOL)
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            subscription_protocols=protocols,
            # The protocol's reference server waits 3 s for connection_init; strawberry's 60 s
            # default lets idle sockets pile up.
            connection_init_wait_timeout=timedelta(seconds=5),
            max_subscriptions_per_connection=20,
            allowed_origins=settings.ws_allowed_origins,
        )
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self._precheck(request)
        if response is None:
            try:
                response = self._negotiate(request, await self.run(request))
            except HTTPException as exc:
                response = self._http_error(request, exc)
            except InvalidToken as exc:
                response = request_error(
                    request,
                    401,
                    f"the access token is invalid or expired ({exc}); refresh it",
                    "UNAUTHENTICATED",
                    **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
        await response(scope, receive, send)

    async def _precheck(self, request: Request) -> Response | None:
        method = request.method
        if method not in {"GET", "POST"}:
            return request_error(request, 405, "use GET or POST", "METHOD_NOT_ALLOWED", Allow="GET, POST")
        if method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != JSON:
                return request_error(
                    request, 415, "POST bodies must be application/json", "UNSUPPORTED_MEDIA_TYPE"
                )
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.settings.max_body_bytes:
                return request_error(request, 413, "the request body is too large", "PAYLOAD_TOO_LARGE")
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.settings.max_body_bytes:
                    return request_error(request, 413, "the request body is too large", "PAYLOAD_TOO_LARGE")
            request._body = body  # the view reads the body again from the cache
            if not body.strip():
                return request_error(request, 400, "the request body is empty", "BAD_REQUEST")
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return request_error(request, 400, "the request body is not valid JSON", "BAD_REQUEST")
            if isinstance(payload, list):
                return request_error(request, 400, "batched requests are not supported", "BAD_REQUEST")
            if not isinstance(payload, dict):
                return request_error(request, 400, "the request body must be a JSON object", "BAD_REQUEST")
            if not isinstance(payload.get("query"), str):
                return request_error(request, 400, "`query` must be a string", "BAD_REQUEST")
        return None

    def _http_error(self, request: Request, exc: HTTPException) -> Response:
        reason = exc.reason
        if exc.status_code == 400 and "mutations are not allowed" in reason.lower():
            return request_error(request, 405, "mutations need POST", "METHOD_NOT_ALLOWED", Allow="POST")
        if exc.status_code == 400 and "No GraphQL query" in reason and request.method == "GET":
            return request_error(request, 400, reason, "BAD_REQUEST")
        return request_error(request, exc.status_code, reason, "BAD_REQUEST")

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(request=request, response=response, settings=self.settings)
        if isinstance(request, Request):
            context.viewer = viewer_from_authorization(
                request.headers.get("authorization"), self.settings.secret_key.get_secret_value()
            )
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params or {}
        try:
            context.viewer = viewer_from_authorization(
                params.get("Authorization") or params.get("authorization"),
                self.settings.secret_key.get_secret_value(),
            )
        except InvalidToken:
            raise ConnectionRejectionError({"message": "invalid or expired token"}) from None
        return None

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            data["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        request.state.graphql_request_error = _is_request_error(result)
        return data

    def _negotiate(self, request: Request, response: Response) -> Response:
        if not response.headers.get("content-type", "").startswith(JSON):
            return response  # GraphiQL's HTML page
        if _accepts_graphql_response(request):
            response.headers["content-type"] = GRAPHQL_RESPONSE
            if getattr(request.state, "graphql_request_error", False):
                response.status_code = 400
        return response


def _is_request_error(result: ExecutionResult) -> bool:
    """Parse and validation failures never reach execution: no data key at all, only errors."""
    if not result.errors or result.data is not None:
        return False
    return all(_is_pre_execution(error) for error in result.errors)


def _is_pre_execution(error: GraphQLError) -> bool:
    return error.path is None and error.original_error is None
