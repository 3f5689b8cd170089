"""OpenTelemetry traces, exported over OTLP/HTTP when `GUALEMA_OTLP_ENDPOINT` is set, absent otherwise.

Off, nothing of this module runs: no middleware, no extension, no wrapped client, and opentelemetry is
not even imported (docs/decisions/154). On, each process gets a tracer provider with a batch exporter
and spans for: the HTTP request (a W3C `traceparent` from the caller is continued), the GraphQL
operation, each database statement (SQL text with placeholders, never the values) and each outgoing
provider call through httpx (method, host and path; never the query string, which carries WeChat's
access token). Field arguments and documents are not recorded: they hold phone and ID numbers.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from tortoise.backends.base.client import BaseDBAsyncClient

from gualema.database import connection_config
from gualema.settings import Settings

DB_METHODS = ("execute_query", "execute_insert", "execute_many", "execute_query_dict", "execute_script")
_state: dict[str, Any] = {}


def enabled(settings: Settings) -> bool:
    return bool(settings.otlp_endpoint)


def start(settings: Settings) -> None:
    """Once per process: the provider, the exporter, and the wrapped database and HTTP clients."""
    if _state:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
    exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _state["provider"] = provider
    _state["tracer"] = trace.get_tracer("gualema")
    # The configured backend's client classes exist only once its module is imported.
    importlib.import_module(connection_config(settings.database_url, 1)["engine"])
    _wrap_database_clients()
    _wrap_httpx()


def stop() -> None:
    provider = _state.get("provider")
    if provider is not None:
        provider.shutdown()  # flushes what is batched


def _tracer() -> Any:
    return _state["tracer"]


def _all_subclasses(cls: type) -> Iterator[type]:
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        yield sub
        yield from _all_subclasses(sub)


def _wrap_database_clients() -> None:
    # Tortoise has no hook around statements: each client class's methods are wrapped in place.
    from opentelemetry.trace import SpanKind

    for cls in [BaseDBAsyncClient, *_all_subclasses(BaseDBAsyncClient)]:
        for name in DB_METHODS:
            method = cls.__dict__.get(name)
            if method is None or getattr(method, "_traced", False):
                continue

            @functools.wraps(method)
            async def traced(self: Any, query: str, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
                verb = query.lstrip().split(None, 1)[0].upper() if query.strip() else "SQL"
                with _tracer().start_as_current_span(f"db {verb}", kind=SpanKind.CLIENT) as span:
                    span.set_attribute(
                        "db.system", getattr(getattr(self, "capabilities", None), "dialect", "")
                    )
                    span.set_attribute("db.statement", query[:2000])
                    return await _method(self, query, *args, **kwargs)

            traced._traced = True  # type: ignore[attr-defined]
            setattr(cls, name, traced)


def _wrap_httpx() -> None:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    send = httpx.AsyncClient.send
    if getattr(send, "_traced", False):
        return

    @functools.wraps(send)
    async def traced(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        with _tracer().start_as_current_span(f"HTTP {request.method}", kind=SpanKind.CLIENT) as span:
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("server.address", request.url.host)
            span.set_attribute("url.path", request.url.path)
            response = await send(self, request, **kwargs)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response

    traced._traced = True  # type: ignore[attr-defined]
    httpx.AsyncClient.send = traced  # type: ignore[method-assign]


class TracingMiddleware:
    """A server span per HTTP request or WebSocket, continuing the caller's trace when it sends one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope.get("method", "WS")
        name = f"{method} {scope['path']}"
        with _tracer().start_as_current_span(name, context=extract(carrier), kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", method)
            span.set_attribute("url.path", scope["path"])

            async def send_and_record(message: Any) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)

            await self.app(scope, receive, send_and_record)


class GraphQLOperationSpan(SchemaExtension):
    """One span per operation, current while it runs, so statements and calls nest under it."""

    def on_operation(self) -> Iterator[None]:
        with _tracer().start_as_current_span("graphql operation") as span:
            yield
            context = self.execution_context
            operation_type = getattr(getattr(context, "operation_type", None), "value", "unknown")
            name = context.operation_name or "anonymous"
            span.update_name(f"graphql {operation_type} {name}")
            span.set_attribute("graphql.operation.type", operation_type)
            span.set_attribute("graphql.operation.name", name)
