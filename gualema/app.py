from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise import connections
from tortoise.transactions import in_transaction

from gualema import browse_cache, tracing
from gualema.background import BackgroundWorkers
from gualema.dashboard_page import dashboard_routes
from gualema.database import close_database, dialect, migrate, open_database
from gualema.display_page import display_routes
from gualema.export_routes import export_routes
from gualema.graphiql_page import graphiql_asset_routes
from gualema.graphql_endpoint import LOCAL_ORIGIN_REGEX, GraphQLEndpoint
from gualema.graphql_schema import schema_for
from gualema.logging_config import RequestIdMiddleware
from gualema.metrics import WebSocketCounter, metrics_endpoint
from gualema.navigation_qr import navigation_qr_routes
from gualema.payment_routes import payment_routes
from gualema.settings import Settings, get_settings
from gualema.shared_redis import close_shared_redis
from gualema.websocket_wire import WebSocketWire
from realtime.broker import create_broker, get_broker, set_broker

log = logging.getLogger("gualema.app")

# The request headers browsers may send cross-origin: what Apollo, urql, Relay and fetch wrappers add.
CLIENT_HEADERS = [
    "content-type",
    "authorization",
    "accept",
    "accept-language",
    "apollographql-client-name",
    "apollographql-client-version",
    "x-request-id",
    "x-api-key",  # partner API keys (issue 17)
    "if-none-match",
]


async def healthz(_request: Request) -> JSONResponse:
    """The process answers: nothing else is checked, so a restart never hinges on the database."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database and the broker answer within the readiness timeout."""
    timeout = request.app.state.settings.readiness_timeout_seconds
    checks = {
        "database": await _probe("database", _database_answers, seconds=timeout),
        "broker": await _probe("broker", lambda: get_broker().ping(), seconds=timeout),
    }
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503
    )


async def _database_answers() -> bool:
    """Reads and writes: a row inserted into a scratch table inside a transaction that is rolled
    back, so a full disk or a read-only file makes the instance not ready while SELECT 1 answers."""
    conn = connections.get("default")
    await conn.execute_query("SELECT 1")
    if not _probe_table_made:
        # Once per process, outside the transaction (MySQL commits implicitly around DDL); a load
        # balancer probing every few seconds must not take DDL locks each time.
        await conn.execute_script("CREATE TABLE IF NOT EXISTS gualema_ready_probe (id INTEGER PRIMARY KEY)")
        _probe_table_made.append(True)
    try:
        async with in_transaction() as probe:
            await probe.execute_query("INSERT INTO gualema_ready_probe (id) VALUES (1)")
            raise _RollBack()
    except _RollBack:
        pass
    return True


_probe_table_made: list[bool] = []


class _RollBack(Exception):
    """Raised inside the write probe so its transaction is rolled back."""


async def _probe(name: str, check: Callable[[], Awaitable[bool]], *, seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            answered = await check()
    except Exception as exc:  # any failure means "not ready"; the log says which
        log.warning("readiness: %s unreachable: %s", name, type(exc).__name__)
        return "unreachable"
    return "ok" if answered else "unreachable"


def tune_garbage_collector() -> None:
    """Everything imported at start-up lives as long as the process: freeze it out of the collector's
    view, and collect the young generation less often. Full collections walking the whole heap
    paused a server with 1000 open displays for ~100 ms (docs/decisions/098-gc-pauses-in-the-fan-out.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class DirectGraphQLWebSocket:
    """A display's socket stays open all day, and every ASGI layer it passed keeps a coroutine frame
    alive as long (decision 276). `/graphql` WebSockets skip the layers that act only on HTTP (CORS,
    browse-cache publishing, Starlette's exception middleware, the router) and keep the two that
    act on them: the request id for their logs and the open-socket gauge."""

    def __init__(self, app: ASGIApp, endpoint: ASGIApp) -> None:
        self.app = app
        self.direct = RequestIdMiddleware(WebSocketCounter(endpoint))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope.get("path") == "/graphql" and not scope.get("root_path"):
            await self.direct(scope, receive, send)
            return
        await self.app(scope, receive, send)


def area_routes(settings: Settings) -> list[BaseRoute]:
    """HTTP routes outside GraphQL (payment callbacks, display page, QR images), one line per area."""
    routes: list[BaseRoute] = []
    routes += display_routes()  # issue 5: waiting-room display page
    routes += navigation_qr_routes(settings)  # issue 8: printable QR markers
    routes += payment_routes()  # issue 4: provider notifications, sandbox pay page
    routes += dashboard_routes()  # issue 15: the statistics big screen
    routes += export_routes(settings)  # issue 15: CSV and XLSX exports
    if settings.graphiql_enabled:
        routes += graphiql_asset_routes()  # issue 13.10: GraphiQL works offline
    return routes


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    settings = settings or get_settings()
    endpoint = GraphQLEndpoint(schema_for(settings), settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            if dialect(settings) == "sqlite":
                await migrate(settings)  # the embedded default keeps itself up to date
            await open_database(settings)
        broker = create_broker(settings.redis_url, settings.redis_prefix)
        await broker.start()
        set_broker(broker)
        browse_cache.configure(settings.browse_cache_max_age_seconds, settings.browse_cache_fresh_seconds)
        live = asyncio.Event()
        following = asyncio.create_task(browse_cache.follow_changes(live), name="browse-cache")
        try:  # live before traffic, so no change published meanwhile is missed; never blocks start-up
            await asyncio.wait_for(live.wait(), timeout=settings.readiness_timeout_seconds * 4)
        except TimeoutError:
            log.warning("browse cache: not following changes yet (broker slow); answers resync later")
        workers = BackgroundWorkers(settings)
        if settings.run_workers:
            workers.start()
        if manage_database:
            tune_garbage_collector()
        try:
            yield
        finally:
            await workers.shutdown()
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
            await broker.stop()
            set_broker(None)
            await close_shared_redis()
            if manage_database:
                await close_database()
            if tracing.enabled(settings):
                tracing.stop()

    routes: list[BaseRoute] = [
        # Every method reaches the endpoint, which answers the unsupported ones with a JSON 405.
        Route("/graphql", endpoint),
        WebSocketRoute("/graphql", endpoint),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),  # issue 19
        *area_routes(settings),
    ]
    middleware = []
    local_dev = not settings.is_production and not settings.cors_origins
    if settings.cors_origins or local_dev:
        # Development without a list: any port on localhost/127.0.0.1 (Vite, webpack, Expo…).
        # Production answers cross-origin requests only for the explicit GUALEMA_CORS_ORIGINS.
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_origin_regex=LOCAL_ORIGIN_REGEX if local_dev else None,
                allow_methods=["GET", "POST"],
                allow_headers=CLIENT_HEADERS,
                max_age=600,
                expose_headers=["ETag", "RateLimit", "RateLimit-Policy", "Retry-After"],
            )
        )
    middleware += [Middleware(RequestIdMiddleware), Middleware(WebSocketCounter)]  # issue 19
    middleware.append(Middleware(browse_cache.PublishPublicChanges))  # issue 18: after every write
    if tracing.enabled(settings):  # issue 19: OpenTelemetry only when an OTLP endpoint is set
        tracing.start(settings)
        middleware.insert(0, Middleware(tracing.TracingMiddleware))
    # Outside every layer an open socket would keep a frame in, inside tracing (decision 276).
    middleware.insert(
        1 if tracing.enabled(settings) else 0, Middleware(DirectGraphQLWebSocket, endpoint=endpoint)
    )
    # Outermost, so that it sees the server's own `send` (decision 271).
    middleware.insert(0, Middleware(WebSocketWire))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    app.state.fan_out = endpoint.fan_out  # the board feeds (decision 270), for tests and inspection
    return app
