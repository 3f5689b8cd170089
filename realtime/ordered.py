"""A subscriber's channel as an ordered stream: snapshot first, then every change once, in order.

Messages of one channel published by two processes can arrive out of order (each publishes after its
own commit). Treating every early arrival as a loss makes every subscriber re-read the database at
once, which under load causes more reordering: a storm. `sequenced()` holds an early message for up
to `reorder_seconds` waiting for the missing ones, and re-snapshots only on a real loss, on a resync
(realtime.messages), or when the wait runs out. Snapshot loads may be shared among the subscribers of
a channel through realtime.single_flight.

Each message must carry its channel's sequence number under `seq_key` (decision 052); messages
without one are ignored. The snapshot carries the number it reflects under the same key.

When every message is a complete state (`complete_messages=True`, as a queue board is), a message
whose predecessors never come is itself as good as a snapshot: the stream jumps forward to it
without reading the database (decision 095). Only a resync then costs a snapshot load.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from realtime.mailbox import Mailbox
from realtime.messages import is_resync
from realtime.sequence import SequenceGate
from realtime.single_flight import SingleFlight

# Long enough for the other process's publish to arrive, short enough that a real loss is repaired
# before anyone in the waiting room notices.
DEFAULT_REORDER_SECONDS = 1.0


@dataclass(frozen=True)
class Sequenced:
    message: dict[str, Any]
    snapshot: bool  # True: a full state read from the database; False: the next change


async def sequenced(
    messages: Mailbox,
    load_snapshot: Callable[[], Awaitable[dict[str, Any]]],
    *,
    receive: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    snapshots: SingleFlight[dict[str, Any]] | None = None,
    snapshot_key: Hashable = None,
    seq_key: str = "seq",
    reorder_seconds: float = DEFAULT_REORDER_SECONDS,
    complete_messages: bool = False,
) -> AsyncIterator[Sequenced]:
    """Call inside `async with broker.subscribe(channel) as messages` (subscribe first, snapshot second).

    `receive` replaces `anext(messages)` (e.g. to end the stream when a token expires); the stream
    ends when it raises StopAsyncIteration (the broker stopped). With `snapshots`, concurrent
    re-snapshots of subscribers with the same `snapshot_key` share one load. With
    `complete_messages`, a gap that the reorder wait does not close is crossed by delivering the held
    messages in order, each as a change.
    """
    loop = asyncio.get_running_loop()
    next_message = receive or (lambda: anext(messages))

    async def load() -> dict[str, Any]:
        if snapshots is None:
            return await load_snapshot()
        return await snapshots.run(snapshot_key, load_snapshot, live_since=messages.live_since)

    snapshot = await load()
    gate = SequenceGate(int(snapshot[seq_key]))
    yield Sequenced(snapshot, snapshot=True)
    held: dict[int, dict[str, Any]] = {}
    hold_deadline: float | None = None
    while True:
        try:
            if hold_deadline is None:
                message = await next_message()
            else:
                message = await asyncio.wait_for(next_message(), max(0.0, hold_deadline - loop.time()))
        except StopAsyncIteration:
            return
        except TimeoutError:
            message = None  # the held messages' predecessors never came: a real loss
            if complete_messages and held:
                # Each held message is a whole state: continue from the oldest one, no database read.
                gate.reset(min(held) - 1)
        if message is not None and not is_resync(message):
            seq = message.get(seq_key)
            if not isinstance(seq, int):
                continue
            admission = gate.admit(seq)
            if admission == "stale":
                continue
            if admission == "gap":
                held[seq] = message
                hold_deadline = hold_deadline or loop.time() + reorder_seconds
                continue
            yield Sequenced(message, snapshot=False)
        elif message is not None or not complete_messages:
            snapshot = await load()
            gate.reset(int(snapshot[seq_key]))
            yield Sequenced(snapshot, snapshot=True)
        # Release whatever has become consecutive; drop what the last snapshot already holds.
        while (following := held.pop(gate.last_seq + 1, None)) is not None:
            gate.admit(gate.last_seq + 1)
            yield Sequenced(following, snapshot=False)
        held = {seq: kept for seq, kept in held.items() if seq > gate.last_seq}
        hold_deadline = hold_deadline if held else None
