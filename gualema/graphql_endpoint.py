"""/graphql over HTTP (GraphQL-over-HTTP spec) and WebSocket (graphql-transport-ws).

Status codes: docs/decisions/010-graphql-over-http-status-codes.md. In short, with
`Accept: application/graphql-response+json` a request that never reaches execution (unparsable,
invalid, variables that do not coerce) gets REQUEST_ERROR_STATUS and no `data` key; with plain
`application/json` it gets 200, as the spec asks for legacy clients. Ill-formed HTTP requests
(wrong method, content type, size, JSON) get 4xx with a JSON error body under either media type.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from graphql import OperationType as DocumentOperation
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from gualema import browse_cache
from gualema.authentication import viewer_from_authorization
from gualema.graphiql_page import offline_graphiql_html
from gualema.graphql_schema import INTERNAL_ERROR_CODE
from gualema.least_recently_used import LeastRecentlyUsed
from gualema.metrics import observe_answered_without_execution
from gualema.partner_keys import partner_of
from gualema.persisted_queries import (
    InProcessDocuments,
    PersistedQueries,
    RedisDocuments,
    Refused,
    Resolved,
    is_persisted_request,
)
from gualema.public_cache import PUBLIC_ROOT_FIELDS, PublicAnswers, answer_key, revalidated
from gualema.rate_limits.buckets import Buckets, InProcessBuckets, RedisBuckets
from gualema.rate_limits.fallback import FallbackBuckets
from gualema.rate_limits.limiter import (
    OperationFactsCache,
    RateLimiter,
    Subject,
    Throttled,
    actual_cost,
    cost_report,
    policy_of,
    rate_limit_headers,
    throttled_error,
)
from gualema.session_watch import SessionWatch
from gualema.settings import Settings
from gualema.shared_redis import shared_redis
from gualema.sold_out_answers import BOOK_SLOT, REFUSAL_TYPE, SoldOutAnswers
from gualema.websocket_fanout import FanOutHandler, LeanWebSocketAdapter, SharedFanOut
from gualema.websocket_limits import LegacyWSHandler
from models.access_tokens import InvalidToken
from models.booking.sold_out import sold_out_slots
from models.clock import utcnow
from models.department_scope import EVERY_DEPARTMENT, scope_of
from models.error_messages import language_of
from resolvers import booking as booking_use_cases
from resolvers.context import Context

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# 400, not the April-2026 draft's 422: see docs/decisions/010. One constant to flip.
REQUEST_ERROR_STATUS = 400
# A front-end dev server (Vite, webpack, Expo…) on any port of this machine.
LOCAL_ORIGIN_REGEX = r"https?://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?"
LOCAL_ORIGIN = re.compile(LOCAL_ORIGIN_REGEX)
_OUTCOME = "gualema_graphql_outcome"
_NOT_PERSISTED = Resolved(query=None)
HTTP_OPERATIONS: dict[str, set[OperationType]] = {
    "GET": {OperationType.QUERY},
    "POST": {OperationType.QUERY, OperationType.MUTATION},
}


def accepts_graphql_response(request: Request) -> bool:
    return GRAPHQL_RESPONSE in request.headers.get("accept", "")


def _media_type(request: Request) -> str:
    return GRAPHQL_RESPONSE if accepts_graphql_response(request) else JSON


def request_error(request: Request, status: int, message: str, code: str, **headers: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, media_type=_media_type(request), headers=headers or None)


class SharedEventEncodings:
    """The JSON of recent subscription results, keyed by the result object itself. The object is
    kept alive beside its text, so its id cannot be reused while cached; results are never mutated
    after execution."""

    def __init__(self, size: int = 256) -> None:
        self.entries: LeastRecentlyUsed[int, tuple[object, str]] = LeastRecentlyUsed(size)

    def encode(self, result: dict[str, Any], encode: Callable[[object], str | bytes]) -> str:
        key = id(result)
        cached = self.entries.get(key)
        if cached is not None and cached[0] is result:
            return cached[1]
        raw = encode(result)
        text = raw.decode() if isinstance(raw, bytes) else raw
        self.entries.put(key, (result, text))
        return text


def websocket_headers(websocket: HTTPConnection | None, params: dict[str, Any]) -> Headers:
    """The upgrade request's headers with the connection params over them: browsers cannot set
    headers on a WebSocket, so a key may come as `X-Api-Key` in connectionParams."""
    merged = dict(websocket.headers) if websocket is not None else {}
    merged.update({name.lower(): value for name, value in params.items() if isinstance(value, str)})
    return Headers(headers=merged)


class GraphQLEndpoint(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = (
        FanOutHandler  # charges like TransportWSHandler, whose subclass it is
    )
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = LeanWebSocketAdapter

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
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_seconds),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            allowed_origins=settings.ws_allowed_origins,
        )
        self.settings = settings
        self._local_origins_allowed = not settings.is_production and not settings.ws_allowed_origins
        self._encoded_events = SharedEventEncodings()
        # Issue 17 (decisions 160-165): persisted queries, partner keys, rate limits, cacheable GETs.
        redis = shared_redis(settings.redis_url) if settings.redis_url else None
        self.persisted = PersistedQueries(
            RedisDocuments(redis, settings.redis_prefix, settings.apq_ttl_seconds)
            if redis
            else InProcessDocuments(settings.apq_max_entries),
            enforce=settings.trusted_documents == "enforce",
            refresh_seconds=settings.revocation_refresh_seconds,
        )
        buckets: Buckets = (
            FallbackBuckets(
                RedisBuckets(redis, settings.redis_prefix),
                settings.rate_limit_processes,
                settings.rate_limit_redis_retry_seconds,
            )
            if redis
            else InProcessBuckets()
        )
        self.rate_limiter = RateLimiter(settings, buckets)
        self.public_answers = PublicAnswers(settings.public_max_age_seconds)
        self.sold_out_answers = SoldOutAnswers()
        graphql_schema = schema._schema  # type: ignore[attr-defined]
        self.operation_facts = OperationFactsCache(graphql_schema, settings.max_query_tokens)
        self.max_query_cost = settings.max_query_cost
        self.fan_out = SharedFanOut(graphql_schema) if settings.ws_shared_fan_out else None
        self.session_watch = SessionWatch(
            check_seconds=settings.ws_session_check_seconds,
            refresh_seconds=settings.revocation_refresh_seconds,
        )

    @property
    def graphql_ide_html(self) -> str:
        return offline_graphiql_html()  # assets served by this application (gualema/graphiql_page.py)

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        # Development without a list: a dev server on any localhost/127.0.0.1 port, like CORS
        # (gualema/app.py). Production answers only the origins in GUALEMA_WS_ALLOWED_ORIGINS.
        if self._local_origins_allowed and LOCAL_ORIGIN.fullmatch(origin):
            return True
        return super().is_websocket_origin_allowed(request, origin)

    def encode_json(self, data: object) -> str | bytes:
        # A subscription event shared by every display of a board (decision 095) arrives here once
        # per display with the same `data` object: encode it once and only splice in the id.
        if isinstance(data, dict) and data.get("type") == "next":
            payload = data.get("payload")
            if isinstance(payload, dict) and payload.keys() == {"data"} and isinstance(payload["data"], dict):
                encoded = self._encoded_events.encode(payload["data"], super().encode_json)
                return f'{{"id":{json.dumps(data.get("id"))},"type":"next","payload":{{"data":{encoded}}}}}'
        return super().encode_json(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            try:
                await super().__call__(scope, receive, send)
            finally:
                self.session_watch.forget(scope)
            return
        request = Request(scope, receive)
        response = await self._precheck(request)
        if response is None:
            try:
                response = await self._run_persisted(request)
            except Refused as exc:
                response = request_error(request, exc.status, exc.message, exc.code, **exc.headers)
            except Throttled as exc:
                response = self._throttled(request, exc)
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

    async def _run_persisted(self, request: Request) -> Response:
        partner = await partner_of(request.headers, self.settings.revocation_refresh_seconds)
        request.state.partner = partner
        scope = await scope_of(partner.department_ids) if partner is not None else EVERY_DEPARTMENT
        request.state.departments = scope
        payload = getattr(request.state, "graphql_payload", None)
        resolved = (
            await self.persisted.resolve(payload, partner, scope) if payload is not None else _NOT_PERSISTED
        )
        request.state.persisted = resolved
        if partner is None and payload is not None and request.method == "POST" and not resolved.register:
            answered = await self._answer_sold_out(request, resolved.query or payload.get("query"), payload)
            if answered is not None:
                return answered
        # The browse cache (decision 260) supersedes the time-bounded copy: it is dropped on change.
        by_time = resolved.by_reference and resolved.query and not browse_cache.answers.enabled
        key = answer_key(request, resolved.query) if by_time and resolved.query else None
        stored = self.public_answers.get(key) if key is not None else None
        if stored is not None:
            s = self.settings
            response = Response(stored.body, media_type=stored.media_type)
            return revalidated(request, response, s.public_max_age_seconds, s.public_stale_seconds)
        response = await self._browse_or_run(request, resolved, payload)
        if resolved.register and getattr(request.state, _OUTCOME, None) == "executed":
            # Stored only once it has parsed and validated (and run): junk never fills the store.
            await self.persisted.store.put(resolved.register, str(payload["query"]))  # type: ignore[index]
        if getattr(request.state, "public", False) and response.status_code == 200:
            s = self.settings
            if key is not None:
                self.public_answers.put(key, response)
            return revalidated(request, response, s.public_max_age_seconds, s.public_stale_seconds)
        return response

    async def _browse_or_run(
        self, request: Request, resolved: Resolved, payload: dict[str, Any] | None
    ) -> Response:
        """Anonymous public reads come from the browse cache (decision 260); the rest execute."""
        browsed = self._browse_key(request, resolved, payload)
        if browsed is None:
            return self._negotiate(request, await self.run(request))
        key, tags = browsed
        cache = browse_cache.answers
        kept = cache.get(key)
        if kept is None:
            async with cache.executing(key) as leader:
                if not leader:
                    kept = cache.get(key)
                if kept is None:
                    began = cache.sequence
                    response = self._negotiate(request, await self.run(request))
                    context: Context | None = getattr(request.state, "context", None)
                    if (
                        response.status_code == 200
                        and context is not None
                        and getattr(request.state, "answered_cleanly", False)
                    ):
                        media_type = response.headers.get("content-type", JSON)
                        answer = browse_cache.Answer(
                            bytes(response.body), media_type, tags | context.shown, began, time.monotonic()
                        )
                        cache.put(key, answer)
                    return response
        # A persisted GET of public data keeps its Cache-Control and ETag (decision 165).
        request.state.public = resolved.by_reference and request.method == "GET"
        return Response(kept.body, media_type=kept.media_type)

    def _browse_key(
        self, request: Request, resolved: Resolved, payload: dict[str, Any] | None
    ) -> tuple[tuple[str, ...], frozenset[str]] | None:
        """The cache key and root tags of an anonymous public query, or None for anything else."""
        headers = request.headers
        if (
            not browse_cache.answers.enabled
            or payload is None
            or resolved.register
            or "authorization" in headers
            or "x-api-key" in headers
        ):
            return None
        query = resolved.query or payload.get("query")
        if not isinstance(query, str):
            return None
        operation_name = payload.get("operationName")
        facts = self.operation_facts.get(query, operation_name)
        if facts is None or facts.operation_type is not DocumentOperation.QUERY or not facts.only_fields:
            return None
        tags = browse_cache.tags_of(facts.root_fields)
        if tags is None:
            return None
        key = browse_cache.key_of(query, operation_name, payload.get("variables"), _media_type(request))
        return key, tags

    async def _answer_sold_out(
        self, request: Request, query: object, payload: dict[str, Any]
    ) -> Response | None:
        """A bookSlot refusal for a slot this process knows is sold out, without executing (decision
        274); None when the request is anything else and must execute."""
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or "authorization" not in request.headers:
            return None
        facts = self.operation_facts.get(query, operation_name)
        if facts is None:
            return None
        refusal = self.sold_out_answers.refusal(facts, language_of(request.headers.get("accept-language")))
        attempt = self.sold_out_answers.attempt(facts, payload.get("variables")) if refusal else None
        if refusal is None or attempt is None:
            return None
        started = time.perf_counter()
        now = utcnow()
        if not sold_out_slots.is_marked(attempt.slot_id, now):
            return None  # most bookings: decided before the token is read (get_context reads it)
        # As get_context would: InvalidToken is answered 401 by the caller, revocations apply.
        viewer = await viewer_from_authorization(request.headers.get("authorization"), self.settings)
        account_id = viewer.account_id
        if not viewer.is_patient or account_id is None:
            return None
        if not sold_out_slots.refuses(attempt.slot_id, account_id, attempt.idempotency_key, now):
            return None
        context = Context(request=request, response=None, settings=self.settings, viewer=viewer)
        subject = self.rate_limiter.subject_of(context, None)
        requested = facts.cost(payload.get("variables"))
        charge = await self.rate_limiter.charge(subject, requested, now)  # Throttled: 429, as executed
        booking_use_cases.count_sold_out_refusal(attempt.slot_id, account_id, now, self.settings)
        actual = min(requested, refusal.cost)
        available = await self.rate_limiter.settle(subject, charge, requested, actual)
        policy = policy_of(subject, charge)
        body = {
            "data": refusal.data,
            "extensions": {"cost": cost_report(requested, actual, available, policy)},
        }
        setattr(request.state, _OUTCOME, "executed")
        seconds = time.perf_counter() - started
        observe_answered_without_execution(
            facts.operation, facts.operation_name, BOOK_SLOT, REFUSAL_TYPE, seconds
        )
        return Response(
            self.encode_json(body),
            media_type=_media_type(request),
            headers=rate_limit_headers(policy, available),
        )

    def _throttled(self, request: Request, exc: Throttled) -> Response:
        body = {"errors": [throttled_error(exc)], "extensions": {"cost": exc.report}}
        headers = {**exc.headers, "Retry-After": str(max(1, exc.charge.retry_after))}
        return JSONResponse(body, status_code=429, media_type=_media_type(request), headers=headers)

    def should_render_graphql_ide(self, request: Any) -> bool:
        params = request.query_params
        persisted = "extensions" in params or "documentId" in params
        return not persisted and super().should_render_graphql_ide(request)

    async def _precheck(self, request: Request) -> Response | None:
        """Refuse ill-formed HTTP requests before strawberry sees them (it would answer in plain text)."""
        if request.method == "GET":
            return self._precheck_get(request)
        if request.method != "POST":
            return request_error(request, 405, "use GET or POST", "METHOD_NOT_ALLOWED", Allow="GET, POST")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            return request_error(
                request, 415, "POST bodies must be application/json", "UNSUPPORTED_MEDIA_TYPE"
            )
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return request_error(request, 413, f"the body exceeds {limit} bytes", "PAYLOAD_TOO_LARGE")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return request_error(request, 413, f"the body exceeds {limit} bytes", "PAYLOAD_TOO_LARGE")
        request._body = bytes(body)  # the view reads the body again from this cache
        if not body.strip():
            return request_error(request, 400, "the request body is empty", "BAD_REQUEST")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return request_error(request, 400, "the request body is not valid JSON", "BAD_REQUEST")
        if isinstance(payload, list):
            return request_error(request, 400, "batched requests are not supported", "BAD_REQUEST")
        if not isinstance(payload, dict):
            return request_error(request, 400, "the request body must be a JSON object", "BAD_REQUEST")
        return self._check_parameters(request, payload)

    def _precheck_get(self, request: Request) -> Response | None:
        params = request.query_params
        if "query" not in params and "extensions" not in params and "documentId" not in params:
            return None  # GraphiQL, or strawberry's own "no query" answer
        payload: dict[str, Any] = {"query": params.get("query"), "operationName": params.get("operationName")}
        if "documentId" in params:
            payload["documentId"] = params["documentId"]
        for name in ("variables", "extensions"):
            text = params.get(name)
            if text:
                try:
                    payload[name] = json.loads(text)
                except (ValueError, RecursionError):
                    return request_error(request, 400, f"`{name}` is not valid JSON", "BAD_REQUEST")
        return self._check_parameters(request, payload)

    def _check_parameters(self, request: Request, payload: dict[str, Any]) -> Response | None:
        query = payload.get("query")
        if is_persisted_request(payload):
            if query is not None and (not isinstance(query, str) or not query.strip()):
                return request_error(request, 400, "`query` must be a non-empty string", "BAD_REQUEST")
        elif not isinstance(query, str) or not query.strip():
            return request_error(request, 400, "`query` must be a non-empty string", "BAD_REQUEST")
        if not isinstance(payload.get("operationName"), str | None):
            return request_error(request, 400, "`operationName` must be a string or null", "BAD_REQUEST")
        for name in ("variables", "extensions"):
            if not isinstance(payload.get(name), dict | None):
                return request_error(request, 400, f"`{name}` must be an object or null", "BAD_REQUEST")
        request.state.graphql_payload = payload
        return None

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # strawberry lets subscriptions through GET and POST for its multipart/SSE transports, which
        # are off here: the resolver's generator would be executed as a query and fail as a 500.
        allowed = HTTP_OPERATIONS.get(request_adapter.method, set())
        resolved: Resolved = getattr(request.state, "persisted", _NOT_PERSISTED)
        query = resolved.query or request_data.query
        subject = self.rate_limiter.subject_of(context, context.partner)
        get_by_reference = resolved.by_reference and request_adapter.method == "GET"
        facts = self.operation_facts.get(query, request_data.operation_name) if query else None
        cacheable = (
            get_by_reference
            and facts is not None
            and facts.root_fields <= PUBLIC_ROOT_FIELDS
            and not context.viewer.is_authenticated
        )
        requested = facts.cost(request_data.variables) if facts is not None else 0
        if facts is None or requested > self.max_query_cost:
            # It does not parse, names no operation, or is too costly: execution refuses it before any
            # resolver runs (RefuseBeforeExecution), so there is nothing to charge.
            result = await self._execute(request_adapter, context, root_value, request_data, query, allowed)
        else:
            result = await self._charged(
                subject,
                requested,
                sub_response,
                request_adapter,
                context,
                request_data,
                query,
                allowed,
                cacheable,
            )
        if cacheable and not result.errors:
            request.state.public = True
        if context.refused_from_sold_out_mark and facts is not None and not result.errors and result.data:
            self.sold_out_answers.learn(
                facts, language_of(request.headers.get("accept-language")), result.data
            )
        return result

    async def _charged(
        self,
        subject: Subject,
        requested: int,
        sub_response: Response,
        request_adapter: AsyncHTTPRequestAdapter,
        context: Context,
        request_data: GraphQLRequestData,
        query: str | None,
        allowed: set[OperationType],
        cacheable: bool,
    ) -> ExecutionResult:
        """Charge the estimate up front, execute, refund what the answer did not use (decision 163).
        A cacheable answer reports its cost in the headers only: its body, hence its ETag, must not
        change with the bucket (decision 221)."""
        charge = await self.rate_limiter.charge(subject, requested, utcnow())
        try:
            result = await self._execute(request_adapter, context, None, request_data, query, allowed)
        except BaseException:
            await self.rate_limiter.settle(subject, charge, requested, 0)
            raise
        actual = min(requested, actual_cost(result.data))
        available = await self.rate_limiter.settle(subject, charge, requested, actual)
        policy = policy_of(subject, charge)
        sub_response.headers.update(rate_limit_headers(policy, available))
        if execution_outcome(result) == "executed" and not cacheable:  # refusals cost and say nothing
            report = cost_report(requested, actual, available, policy)
            result.extensions = {**(result.extensions or {}), "cost": report}
        return result

    async def _execute(
        self,
        request_adapter: AsyncHTTPRequestAdapter,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
        query: str | None,
        allowed: set[OperationType],
    ) -> ExecutionResult:
        try:
            return await self.schema.execute(
                query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason(request_adapter.method)) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc

    def _http_error(self, request: Request, exc: HTTPException) -> Response:
        reason = exc.reason
        if "mutations are not allowed" in reason.lower():
            return request_error(request, 405, "mutations need POST", "METHOD_NOT_ALLOWED", Allow="POST")
        if "subscriptions are not allowed" in reason.lower():
            return request_error(
                request,
                400,
                "subscriptions need a WebSocket on /graphql (graphql-transport-ws)",
                "BAD_REQUEST",
            )
        if exc.status_code == 404 and request.method == "GET":
            # strawberry's answer to a browser GET when GraphiQL is off: say what is missing instead.
            return request_error(request, 400, "no GraphQL query in the request", "BAD_REQUEST")
        return request_error(request, exc.status_code, reason, "BAD_REQUEST")

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(request=request, response=response, settings=self.settings)
        if isinstance(request, Request):
            request.state.context = context
            context.partner = getattr(request.state, "partner", None)
            context.departments = getattr(request.state, "departments", EVERY_DEPARTMENT)
            if context.partner is None:  # with a key, `Authorization` may carry the key itself
                context.viewer = await viewer_from_authorization(
                    request.headers.get("authorization"), self.settings
                )
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params or {}
        websocket = context.request
        try:
            context.partner = await partner_of(
                websocket_headers(websocket, params), self.settings.revocation_refresh_seconds
            )
        except Refused:
            raise ConnectionRejectionError({"message": "invalid or revoked API key"}) from None
        if context.partner is not None:  # as over HTTP, a key's request is anonymous, within its scope
            context.departments = await scope_of(context.partner.department_ids)
        else:
            try:
                context.viewer = await viewer_from_authorization(
                    params.get("Authorization") or params.get("authorization"), self.settings
                )
            except InvalidToken:
                raise ConnectionRejectionError({"message": "invalid or expired token"}) from None
        await self._charge_once(context, self.settings.ws_connect_cost)  # Throttled: closed with 1013
        if isinstance(websocket, WebSocket):
            self.session_watch.watch(websocket, context.viewer)
        return UNSET  # a bare connection_ack, without `"payload": null`

    async def charge_operation(
        self, context: Context, query: object, operation_name: object, variables: object
    ) -> None:
        """An operation subscribed on a WebSocket pays its estimate once, up front (websocket_limits)."""
        facts = (
            self.operation_facts.get(query, operation_name if isinstance(operation_name, str) else None)
            if isinstance(query, str)
            else None
        )
        given = cast("dict[str, Any]", variables) if isinstance(variables, dict) else None
        requested = facts.cost(given) if facts is not None else 1
        await self._charge_once(context, min(requested, self.max_query_cost))

    async def _charge_once(self, context: Context, cost: int) -> None:
        subject = self.rate_limiter.subject_of(context, context.partner)
        charge = await self.rate_limiter.charge(subject, cost, utcnow())
        # Nothing is refunded (a subscription has no end to measure); settling frees the concurrency slot.
        await self.rate_limiter.settle(subject, charge, cost, cost)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        outcome = execution_outcome(result)
        if isinstance(request, Request):  # WebSocket results come through here too
            setattr(request.state, _OUTCOME, outcome)
            request.state.answered_cleanly = outcome == "executed" and not result.errors
        data: GraphQLHTTPResponse = {} if outcome != "executed" else {"data": result.data}
        if result.errors:
            data["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    def _negotiate(self, request: Request, response: Response) -> Response:
        if not response.headers.get("content-type", "").startswith(JSON):
            return response  # GraphiQL's HTML page
        if accepts_graphql_response(request):
            response.headers["content-type"] = GRAPHQL_RESPONSE
            outcome = getattr(request.state, _OUTCOME, "executed")
            if outcome == "request_error":
                response.status_code = REQUEST_ERROR_STATUS
            elif outcome == "server_error":
                response.status_code = 500
        return response


def execution_outcome(result: ExecutionResult) -> str:
    """`executed` (data present, maybe null), `request_error` (the client's document or variables
    were refused before execution) or `server_error` (an unexpected failure outside any field)."""
    if result.data is not None or not result.errors:
        return "executed"
    if any(error.path is not None for error in result.errors):
        return "executed"  # a field error nulled the whole response: execution did happen
    if any(_is_masked(error) for error in result.errors):
        return "server_error"
    return "request_error"


def _is_masked(error: GraphQLError) -> bool:
    return (error.extensions or {}).get("code") == INTERNAL_ERROR_CODE
