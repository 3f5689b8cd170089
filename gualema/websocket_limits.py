"""Rate limits on the WebSocket (decision 221): a connection is charged when it initialises and each
operation when it is subscribed, to the key, the account or the client's address, from the same
buckets as HTTP. A refused connection is closed with 1013 "Try Again Later", which graphql-ws clients
retry with backoff; a refused operation gets one `error` message carrying the same THROTTLED error as
HTTP's 429. No operation escapes: queries and mutations sent over the socket are subscribed too."""

from __future__ import annotations

from typing import Any, Protocol, cast

from graphql import GraphQLFormattedError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionErrorMessage, StartMessage
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyInitMessage
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyErrorMessage

from gualema.rate_limits.limiter import Throttled, throttled_error
from resolvers.context import Context

TRY_AGAIN_LATER = 1013  # RFC 6455's registered close code; graphql-ws reconnects after a backoff


def close_reason(exc: Throttled) -> str:
    return f"THROTTLED {exc.charge.limit}; retry after {max(1, exc.charge.retry_after)} s"


def formatted(exc: Throttled) -> GraphQLFormattedError:
    return cast("GraphQLFormattedError", throttled_error(exc))


class ChargesOperations(Protocol):
    async def charge_operation(
        self, context: Context, query: object, operation_name: object, variables: object
    ) -> None: ...


async def refusal_of(
    view: object, context: Context, message: SubscribeMessage | StartMessage
) -> Throttled | None:
    """Charges the operation a subscribe/start message carries; the refusal when the bucket is empty."""
    payload: dict[str, Any] = cast("dict[str, Any]", message.get("payload") or {})
    try:
        await cast("ChargesOperations", view).charge_operation(
            context, payload.get("query"), payload.get("operationName"), payload.get("variables")
        )
    except Throttled as exc:
        return exc
    return None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws: `on_ws_connect` charges the connection; subscribe charges the operation."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except Throttled as exc:
            await self.websocket.close(code=TRY_AGAIN_LATER, reason=close_reason(exc))

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and message["id"] not in self.operations:
            refused = await refusal_of(self.view, self.context, message)
            if refused is not None:
                await self.send_message(
                    ErrorMessage(id=message["id"], type="error", payload=[formatted(refused)])
                )
                return
        await super().handle_subscribe(message)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The opt-in legacy graphql-ws protocol, limited alike."""

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except Throttled as exc:
            await self.send_message(
                ConnectionErrorMessage(type="connection_error", payload=throttled_error(exc))
            )
            await self.websocket.close(code=TRY_AGAIN_LATER, reason=close_reason(exc))

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged:
            refused = await refusal_of(self.view, self.context, message)
            if refused is not None:
                await self.send_message(
                    LegacyErrorMessage(type="error", id=message["id"], payload=formatted(refused))
                )
                return
        await super().handle_start(message)
