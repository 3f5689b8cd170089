"""Shared streams served once per channel: one stream, one execution, one encoding per change.

A display's board subscription starts the ordinary way (strawberry validates the document, the
field's permission and the resolver authorize the viewer, the snapshot is rendered and sent). Its
stream then offers itself (schema.shared_streams); the transport handler below accepts, ends that
stream and attaches the subscriber to the channel's `ChannelFeed`. The feed follows the channel
once per process, builds one event object per change, executes each distinct (document, operation,
variables) once, encodes the payload once and writes the same frame bytes (per subscription id) to
every attached socket (gualema.websocket_wire), without a task, queue or generator per display
(decision 270).

Ordering: a subscriber remembers the sequence number of the last state it was sent and is sent only
later states. One that joins behind the feed, or whose socket buffer was full when a change went
out, is sent the feed's current state as a snapshot (snapshot: true), since a board message is a
whole state (decision 096). The protocol is unchanged: `next` messages under the client's id, and
`complete` when the stream ends (the broker stopped, or the feed failed). Token expiry and
revocation close the socket (gualema/session_watch.py), which detaches its subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Awaitable
from dataclasses import dataclass, field
from json import JSONDecodeError
from typing import Any

from graphql import GraphQLError, GraphQLSchema, parse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.execution import optimized_is_awaitable
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from gualema.graphql_schema import INTERNAL_ERROR_CODE, UNEXPECTED_ERROR, SharedEventExecution
from gualema.websocket_limits import TransportWSHandler
from gualema.websocket_wire import Wire, text_frame, wire_of
from realtime.ordered import Sequenced
from resolvers.context import Context
from schema import shared_streams

log = logging.getLogger("gualema.websocket_fanout")

RenderKey = tuple[str, str | None, str]  # document, operation name, variables (JSON)


class Subscriber:
    """One subscription attached to a feed: where to write, and the last state it was sent."""

    __slots__ = ("behind", "group", "handler", "last_sequence", "operation", "prefix", "wire")

    def __init__(self, handler: FanOutHandler, operation: Operation[Context, None], sequence: int) -> None:
        self.handler = handler
        self.operation = operation
        self.wire: Wire | None = wire_of(handler.websocket.ws.scope)  # type: ignore[attr-defined]
        self.prefix = b'{"id":' + json.dumps(operation.id).encode() + b',"type":"next","payload":'
        self.last_sequence = sequence
        self.behind = False  # a frame was skipped (full buffer): owes it the whole current state
        self.group: RenderGroup | None = None


@dataclass
class RenderGroup:
    """The subscribers of a feed with the same document, operation and variables."""

    feed: ChannelFeed
    key: RenderKey
    executor: SharedEventExecution
    executor_query: str
    subscribers: dict[Subscriber, None] = field(default_factory=dict)  # insertion-ordered set


@dataclass
class Delivery:
    """One state rendered for one group: the payload encoded once, its frames per id prefix."""

    payload: bytes
    frames: dict[bytes, bytes] = field(default_factory=dict)

    def frame_for(self, subscriber: Subscriber) -> bytes:
        frame = self.frames.get(subscriber.prefix)
        if frame is None:
            frame = text_frame(subscriber.prefix + self.payload + b"}")
            self.frames[subscriber.prefix] = frame
        return frame


class ChannelFeed:
    def __init__(self, fan_out: SharedFanOut, stream: shared_streams.SharedStream) -> None:
        self.fan_out = fan_out
        self.stream = stream
        self.groups: dict[RenderKey, RenderGroup] = {}
        self.latest: Sequenced | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"fan-out {self.stream.channel}")

    def attach(self, subscriber: Subscriber, group: RenderGroup) -> None:
        self.groups.setdefault(group.key, group)
        subscriber.group = group
        group.subscribers[subscriber] = None
        latest = self.latest
        if latest is not None and int(latest.message["seq"]) > subscriber.last_sequence:
            # The feed is ahead of the snapshot this subscriber was sent: catch it up at once.
            self._send(subscriber, latest, self._render_for(group, latest, {}))

    def detach(self, subscriber: Subscriber) -> None:
        group = subscriber.group
        if group is None:
            return
        subscriber.group = None
        group.subscribers.pop(subscriber, None)
        if not group.subscribers and self.groups.get(group.key) is group:
            del self.groups[group.key]
        if not self.groups:
            self.fan_out.forget(self)

    async def _run(self) -> None:
        try:
            first = True
            async for item in self.stream.follow():
                self.latest = item
                self._deliver(item, first=first)
                first = False
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("shared stream of %s failed; completing its subscriptions", self.stream.channel)
        # The stream ended (the broker stopped) or failed: every subscription on it is complete.
        self.fan_out.forget(self)
        subscribers = [s for group in self.groups.values() for s in group.subscribers]
        self.groups.clear()
        for subscriber in subscribers:
            subscriber.group = None
            await subscriber.handler.complete_fanned(subscriber)

    def _deliver(self, item: Sequenced, *, first: bool) -> None:
        sequence = int(item.message["seq"])
        # A snapshot after the first is a resync (the broker reconnected, messages may be lost):
        # everyone gets it, as every subscription did on its own stream, even at a number it has.
        resync = item.snapshot and not first
        for group in list(self.groups.values()):
            rendered: dict[bool, Delivery] = {}
            for subscriber in list(group.subscribers):
                if sequence > subscriber.last_sequence or (resync and sequence == subscriber.last_sequence):
                    self._send(subscriber, item, self._render_for(group, item, rendered, subscriber.behind))

    def _render_for(
        self, group: RenderGroup, item: Sequenced, rendered: dict[bool, Delivery], as_snapshot: bool = True
    ) -> Delivery:
        snapshot = item.snapshot or as_snapshot
        delivery = rendered.get(snapshot)
        if delivery is None:
            shown = item if item.snapshot or not snapshot else Sequenced(item.message, snapshot=True)
            delivery = Delivery(self.fan_out.render(group, self.stream.build(shown)))
            rendered[snapshot] = delivery
        return delivery

    def _send(self, subscriber: Subscriber, item: Sequenced, delivery: Delivery) -> None:
        sequence = int(item.message["seq"])
        wire = subscriber.wire
        if wire is None:
            subscriber.last_sequence = sequence
            subscriber.behind = False
            subscriber.handler.send_later(subscriber, delivery.payload)
            return
        written = wire.write(delivery.frame_for(subscriber))
        if written == "written":
            subscriber.last_sequence = sequence
            subscriber.behind = False
        elif written == "full":
            subscriber.behind = True
        # "closed": the handler's shutdown detaches it.


class SharedFanOut:
    """The feeds of one application (one per channel with subscribers)."""

    def __init__(self, graphql_schema: GraphQLSchema) -> None:
        self.graphql_schema = graphql_schema
        self.feeds: dict[str, ChannelFeed] = {}

    def join(
        self, offer: shared_streams.Offer, handler: FanOutHandler, operation: Operation[Context, None]
    ) -> Subscriber | None:
        key: RenderKey = (
            operation.query,
            operation.operation_name,
            json.dumps(operation.variables or {}, sort_keys=True, default=str),
        )
        feed = self.feeds.get(offer.stream.channel)
        if feed is None:
            feed = ChannelFeed(self, offer.stream)
        group = feed.groups.get(key)
        if group is None:
            executor = SharedEventExecution.build(
                self.graphql_schema,
                parse(operation.query),
                raw_variable_values=operation.variables,
                operation_name=operation.operation_name,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # strawberry types it bool
            )
            if not isinstance(executor, SharedEventExecution):
                return None  # cannot happen for a document that has just run; stay on the own stream
            group = RenderGroup(feed, key, executor, operation.query)
        if feed.task is None:
            self.feeds[offer.stream.channel] = feed
            feed.start()
        subscriber = Subscriber(handler, operation, offer.sequence)
        feed.attach(subscriber, group)
        # An idle display keeps only what its socket needs: the group's copy of the document and
        # variables instead of its own, and no finished task (decision 272).
        operation.query, operation.variables, operation.task = group.executor_query, None, None
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        if subscriber.group is not None:
            subscriber.group.feed.detach(subscriber)

    def forget(self, feed: ChannelFeed) -> None:
        if self.feeds.get(feed.stream.channel) is feed:
            del self.feeds[feed.stream.channel]
        task = feed.task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()

    def render(self, group: RenderGroup, event: object) -> bytes:
        """Execute the group's selection on the event and encode the `next` payload once."""
        result = group.executor.build_per_event_executor(event).execute_operation(False)
        if isinstance(result, Awaitable):  # board fields are plain values; anything else is a bug
            raise TypeError("a shared stream's selection must resolve without awaiting")
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            log.error("shared stream event failed: %s", result.errors)
            payload["errors"] = [_masked(error) for error in result.errors]
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _masked(error: GraphQLError) -> dict[str, Any]:
    masked = GraphQLError(UNEXPECTED_ERROR, path=error.path, extensions={"code": INTERNAL_ERROR_CODE})
    return masked.formatted  # type: ignore[return-value]


class FanOutHandler(TransportWSHandler):
    """strawberry's graphql-transport-ws handler (charged as TransportWSHandler charges), accepting the
    offers of shared streams."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fanned: dict[str, Subscriber] = {}  # subscriptions served by a shared feed, by id
        self._sending: asyncio.Future[None] | None = None  # the last ASGI send without a wire

    async def handle(self) -> None:
        # strawberry's loop, without holding the last message (a subscribe message carries the
        # whole document) for as long as the socket stays idle.
        self.on_request_accepted()
        try:
            try:
                async for message in self.websocket.iter_json():
                    await self.handle_message(message)  # type: ignore[arg-type]
                    del message
            except NonTextMessageReceived:
                await self.handle_invalid_message("WebSocket message type must be text")
            except NonJsonMessageReceived:
                await self.handle_invalid_message("WebSocket message must be valid JSON")
        except WebSocketDisconnected:
            pass
        finally:
            await self.shutdown()

    @property
    def fan_out(self) -> SharedFanOut | None:
        return getattr(self.view, "fan_out", None)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        # strawberry's run_operation, plus the hand-over of an offered stream after a result.
        listening: list[shared_streams.Offer] = []
        shared_streams.offers.set(listening if self.fan_out is not None else None)  # this task only
        taken: shared_streams.Offer | None = None
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                first = True
                async for result in result_source:
                    if first and isinstance(result, PreExecutionError):
                        await self._handle_pre_execution_error(operation, result)
                        return
                    if not isinstance(result, ExecutionResult):
                        await self._reject_incremental_delivery(operation)
                        return
                    await operation.send_next(result)
                    first = False
                    if listening and not result.errors and not operation.completed:
                        taken = listening[-1]
                        break
                    listening.clear()
            # Past `aclosing`: the subscriber's own stream (and its broker subscription) is closed.
            if taken is not None and self._hand_over(taken, operation):
                return
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    def _hand_over(self, offer: shared_streams.Offer, operation: Operation[Context, None]) -> bool:
        fan_out = self.fan_out
        if fan_out is None or self.operations.get(operation.id) is not operation:
            return False  # completed by the client meanwhile
        subscriber = fan_out.join(offer, self, operation)
        if subscriber is None:
            return False
        self.fanned[operation.id] = subscriber
        return True

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        self.connection_init_timeout_task = None  # cancelled by now; nothing to keep per socket

    async def cleanup_operation(self, operation_id: str) -> None:
        subscriber = self.fanned.pop(operation_id, None)
        if subscriber is None:
            await super().cleanup_operation(operation_id)
            return
        self.operations.pop(operation_id, None)  # its task finished at the hand-over
        if self.fan_out is not None:
            self.fan_out.leave(subscriber)

    def send_later(self, subscriber: Subscriber, payload: bytes) -> None:
        """Without a wire (another server than uvicorn): through ASGI, in order, off the feed's loop."""
        text = (subscriber.prefix + payload + b"}").decode()
        self._sending = asyncio.ensure_future(self._send_after(self._sending, text))

    async def _send_after(self, previous: asyncio.Future[None] | None, text: str) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        websocket: WebSocket = self.websocket.ws  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            await websocket.send_text(text)

    async def complete_fanned(self, subscriber: Subscriber) -> None:
        self.fanned.pop(subscriber.operation.id, None)
        with contextlib.suppress(WebSocketDisconnected, RuntimeError, KeyError):
            await subscriber.operation.send_operation_message(
                {"id": subscriber.operation.id, "type": "complete"}
            )


class LeanWebSocketAdapter(ASGIWebSocketAdapter):
    """strawberry's adapter, without holding the last raw message while waiting for the next."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                try:
                    message = self.view.decode_json(text)
                except JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
                    continue
                del text
                yield message
                del message
        except KeyError as exc:
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


__all__ = ["FanOutHandler", "LeanWebSocketAdapter", "SharedFanOut"]
