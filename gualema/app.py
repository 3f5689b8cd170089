from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from tortoise import connections

from gualema.background import BackgroundWorkers
from gualema.database import close_database, dialect, migrate, open_database
from gualema.graphql_endpoint import GraphQLEndpoint
from gualema.graphql_schema import schema_for
from gualema.settings import Settings, get_settings
from realtime.broker import create_broker, get_broker, set_broker

log = logging.getLogger("gualema.app")


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await connections.get("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        checks["database"] = "unreachable"
    try:
        checks["broker"] = "ok" if await get_broker().ping() else "unreachable"
    except Exception as exc:
        log.warning("readiness: broker unreachable: %s", type(exc).__name__)
        checks["broker"] = "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503)


def area_routes(settings: Settings) -> list[BaseRoute]:
    """HTTP routes outside GraphQL (payment callbacks, display page, QR images), one line per area."""
    routes: list[BaseRoute] = []
    return routes


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    settings = settings or get_settings()
    endpoint = GraphQLEndpoint(schema_for(settings), settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            if dialect(settings) == "sqlite":
                await migrate(settings)  # the embedded default keeps itself up to date
            await open_database(settings)
        broker = create_broker(settings.redis_url, settings.redis_prefix)
        await broker.start()
        set_broker(broker)
        workers = BackgroundWorkers(settings)
        if settings.run_workers:
            workers.start()
        try:
            yield
        finally:
            await workers.shutdown()
            await broker.stop()
            set_broker(None)
            if manage_database:
                await close_database()

    routes: list[BaseRoute] = [
        Route("/graphql", endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        WebSocketRoute("/graphql", endpoint),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *area_routes(settings),
    ]
    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    return app
