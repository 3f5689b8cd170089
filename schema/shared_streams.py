"""A subscription may offer the rest of its stream to the transport, to be served once per channel.

Strawberry runs each subscription on its own: one stream, one execution and one encoding per
subscriber per event. A board is the same for every display of it, so after a subscriber's first
result (validated, authorized and rendered the ordinary way) its stream offers itself: "from here
on I am `follow()` of `channel`, with each item turned into the event object by `build`". A
transport that listens (gualema.websocket_fanout) ends this stream and serves the subscriber from
one shared stream of the channel, rendering and encoding each change once for all its subscribers
(decision 270). A transport that does not listen changes nothing: the stream simply goes on.

Only event types that declare `same_for_every_viewer = True` may be offered; nothing under them may
read the context, since the shared stream renders with none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from realtime.ordered import Sequenced


@dataclass(frozen=True)
class SharedStream:
    channel: str  # one shared stream per channel and process
    follow: Callable[[], AsyncIterator[Sequenced]]  # the channel's stream, without a viewer
    build: Callable[[Sequenced], object]  # the event object (one per item, shared)


@dataclass(frozen=True)
class Offer:
    stream: SharedStream
    sequence: int  # the state the subscriber has been sent, or is being sent


# Set by the transport in each operation's task, so an offer reaches the transport serving it.
offers: ContextVar[list[Offer] | None] = ContextVar("gualema_shared_stream_offers", default=None)


def offer(stream: SharedStream, item: Sequenced) -> None:
    """Call just before yielding `item`: the transport may take over once it has sent it."""
    listening = offers.get()
    if listening is not None:
        listening.append(Offer(stream, int(item.message["seq"])))
