"""OpenTelemetry: with GUALEMA_OTLP_ENDPOINT a server process exports spans for the HTTP request, the
GraphQL operation, its database statements and its call to WeChat to an OTLP collector; without it,
nothing is installed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gualema.graphql_schema import schema_extensions
from gualema.settings import Settings
from integrations.wechat.fake import FakeWeChat
from tests.fixtures.api import ServerProcess, serving
from tests.fixtures.wechat import APPID, SECRET

LOGIN_WITH_WECHAT = 'mutation Wx { loginWithWechat(code: "%s") { __typename } }'


class Collector:
    """An OTLP/HTTP trace receiver on 127.0.0.1: decodes each export as the real collector does."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, dict[str, object]]] = []
        self.services: set[str] = set()
        self.arrived = asyncio.Event()

    async def traces(self, request: Request) -> Response:
        export = ExportTraceServiceRequest.FromString(await request.body())
        for resource_spans in export.resource_spans:
            for attribute in resource_spans.resource.attributes:
                if attribute.key == "service.name":
                    self.services.add(attribute.value.string_value)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    values = {a.key: a.value.string_value or a.value.int_value for a in span.attributes}
                    self.spans.append((span.name, values))
        self.arrived.set()
        return Response(b"", media_type="application/x-protobuf")


@pytest.fixture
async def collector() -> AsyncIterator[tuple[Collector, str]]:
    receiver = Collector()
    app = Starlette(routes=[Route("/v1/traces", receiver.traces, methods=["POST"])])
    async with serving(app) as url:
        yield receiver, url


async def test_a_request_is_traced_from_http_to_the_database_and_wechat(
    collector: tuple[Collector, str],
    wechat: FakeWeChat,
    wechat_server: tuple[FakeWeChat, str],
    server_processes: Callable[..., ServerProcess],
) -> None:
    receiver, collector_url = collector
    server = await asyncio.to_thread(
        server_processes,
        extra_env={
            "GUALEMA_OTLP_ENDPOINT": collector_url,
            "GUALEMA_OTEL_SERVICE_NAME": "gualema-test",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "GUALEMA_WECHAT_APPID": APPID,
            "GUALEMA_WECHAT_SECRET": SECRET,
            "GUALEMA_WECHAT_API_BASE_URL": wechat_server[1],
        },
    )
    code = wechat.login_code("oTRACED_openid")
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/graphql", json={"query": LOGIN_WITH_WECHAT % code})
    assert response.json()["data"]["loginWithWechat"]["__typename"] == "WechatPhoneRequiredError"

    def names() -> set[str]:
        return {name for name, _ in receiver.spans}

    def complete() -> bool:
        wanted = {"POST /graphql", "graphql mutation Wx", "HTTP GET"}
        return wanted <= names() and any(n.startswith("db ") for n in names())

    async with asyncio.timeout(20):
        while not complete():
            receiver.arrived.clear()
            await receiver.arrived.wait()

    assert receiver.services == {"gualema-test"}
    [wechat_call] = [attrs for name, attrs in receiver.spans if name == "HTTP GET"]
    assert wechat_call["url.path"] == "/sns/jscode2session"
    assert wechat_call["http.response.status_code"] == 200
    statements = [attrs["db.statement"] for name, attrs in receiver.spans if name.startswith("db ")]
    assert any("wechat_identity" in str(s) for s in statements)
    # Neither the code nor the secret nor a document reaches the traces.
    recorded = repr(receiver.spans)
    assert code not in recorded
    assert SECRET not in recorded


def test_without_an_endpoint_no_tracing_is_installed(settings: Settings) -> None:
    names = {getattr(e, "__name__", type(e).__name__) for e in schema_extensions(settings)}
    assert "GraphQLOperationSpan" not in names
    assert not settings.otlp_endpoint
