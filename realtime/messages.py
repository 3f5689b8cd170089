"""The one message the realtime layer itself puts into a subscriber's stream: resync.

A subscriber's iterator yields the publishers' dicts, and now and then `{"type": "resync", "reason": …}`.
On a resync the consumer must forget what it believes and send a fresh snapshot read from the database,
because messages may have been lost: the Redis connection was re-established after an outage
(`reason == "reconnected"`), or the subscriber fell behind and its bounded buffer overflowed
(`reason == "overflow"`). Publishers may not publish a message whose "type" is "resync".
"""

from __future__ import annotations

from typing import Any, Final, Literal

RESYNC_TYPE: Final = "resync"

ResyncReason = Literal["reconnected", "overflow"]


def resync_message(reason: ResyncReason) -> dict[str, Any]:
    return {"type": RESYNC_TYPE, "reason": reason}


def is_resync(message: dict[str, Any]) -> bool:
    return message.get("type") == RESYNC_TYPE
