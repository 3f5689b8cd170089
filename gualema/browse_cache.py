"""Release-hour browsing (docs/decisions/260-262): whole public answers kept per document, variables
and media type, dropped exactly when something they show changes, in every process.

Each answer remembers the tags it depends on (the catalogue, the session listings, each session it
shows) and the change sequence at which its execution began. Writers note tags in their transaction
(models/public_changes.py); after commit the edge that ran them bumps the tags here and publishes
them on the broker, so the other processes bump theirs within milliseconds. An answer is served while
none of its tags changed after its execution began. A change always reaches an answer: executions
that read the old rows began before the bump, so their sequence is below the tag's new version.

During a burst of bookings a department's week changes many times a second; an answer younger than
`fresh_seconds` is served anyway (well inside the one second a change may take to show) and misses
of one key wait for the execution already running instead of executing again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gualema.least_recently_used import LeastRecentlyUsed
from models import public_changes
from realtime.broker import get_broker
from realtime.messages import is_resync

log = logging.getLogger("gualema.browse_cache")

CHANNEL = "public-changes"
# What each public root field shows; `schedule(s)` answers add the tag of every session they list.
ROOT_FIELD_TAGS: dict[str, frozenset[str]] = {
    "__typename": frozenset(),
    "departments": frozenset({public_changes.CATALOGUE}),
    "department": frozenset({public_changes.CATALOGUE}),
    "doctors": frozenset({public_changes.CATALOGUE}),
    "doctor": frozenset({public_changes.CATALOGUE}),
    "rooms": frozenset({public_changes.CATALOGUE}),
    "registrationTypes": frozenset({public_changes.CATALOGUE}),
    "schedule": frozenset({public_changes.CATALOGUE, public_changes.LISTINGS}),
    "schedules": frozenset({public_changes.CATALOGUE, public_changes.LISTINGS}),
}


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str
    tags: frozenset[str]
    began_at_change: int  # the change sequence when its execution began
    stored_at: float


class BrowseAnswers:
    def __init__(self, *, max_age: float, fresh_seconds: float, size: int = 2048) -> None:
        self.max_age = max_age  # a backstop for writes made outside any server process (CLI, SQL)
        self.fresh_seconds = fresh_seconds
        self.entries: LeastRecentlyUsed[tuple[str, ...], Answer] = LeastRecentlyUsed(size)
        self._running: dict[tuple[str, ...], asyncio.Event] = {}
        self.executions = 0  # for tests and benches

    @property
    def enabled(self) -> bool:
        return self.max_age > 0

    def get(self, key: tuple[str, ...]) -> Answer | None:
        answer = self.entries.get(key)
        if answer is None:
            return None
        age = time.monotonic() - answer.stored_at
        if age > self.max_age:
            return None
        if age > self.fresh_seconds and not public_changes.seen.unchanged_since(
            answer.began_at_change, answer.tags
        ):
            return None
        return answer

    def put(self, key: tuple[str, ...], answer: Answer) -> None:
        self.entries.put(key, answer)

    @property
    def sequence(self) -> int:
        return public_changes.seen.sequence

    def forget_everything(self) -> None:
        """Messages may have been lost (a Redis reconnection): nothing held can be trusted."""
        public_changes.seen.forget()
        self.entries.clear()

    @contextlib.asynccontextmanager
    async def executing(self, key: tuple[str, ...]) -> AsyncIterator[bool]:
        """Yields True for the one caller that should execute; the others wait for it (False)."""
        running = self._running.get(key)
        if running is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(running.wait(), timeout=5)
            yield False
            return
        done = self._running[key] = asyncio.Event()
        self.executions += 1
        try:
            yield True
        finally:
            del self._running[key]
            done.set()


# One per process: the fan-out that keeps it current is per process too.
answers = BrowseAnswers(max_age=0, fresh_seconds=0)


def configure(max_age: float, fresh_seconds: float) -> BrowseAnswers:
    global answers
    answers = BrowseAnswers(max_age=max_age, fresh_seconds=fresh_seconds)
    return answers


def key_of(query: str, operation_name: str | None, variables: Any, media_type: str) -> tuple[str, ...]:
    text = json.dumps(variables, sort_keys=True, separators=(",", ":")) if variables else ""
    return (query, operation_name or "", text, media_type)


def tags_of(root_fields: frozenset[str]) -> frozenset[str] | None:
    """The tags an answer of these root fields depends on, or None when one of them is not public."""
    tags: set[str] = set()
    for name in root_fields:
        known = ROOT_FIELD_TAGS.get(name)
        if known is None:
            return None
        tags |= known
    return frozenset(tags)


async def publish(tags: set[str]) -> None:
    """After commit: this process first (its next answer must show the change), then the others."""
    if not tags:
        return
    public_changes.seen.changed(tags)
    with contextlib.suppress(RuntimeError):  # no broker (a command outside the server)
        await get_broker().publish(CHANNEL, {"tags": sorted(tags)})
    tags.clear()


async def follow_changes(following: asyncio.Event) -> None:
    """Every process's task: apply the other processes' changes (and its own, again: harmless).
    `following` is set once the subscription is live, before the process takes traffic."""
    async with get_broker().subscribe(CHANNEL, buffer=4096) as messages:
        following.set()
        async for message in messages:
            if is_resync(message):
                answers.forget_everything()
            else:
                public_changes.seen.changed(message.get("tags", ()))


class PublishPublicChanges:
    """ASGI middleware: collects what an HTTP request's writers noted and publishes it after their
    commits and before the answer leaves, so the caller's next read in any process shows it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tags = public_changes.collect()

        async def send_after_publishing(message: Message) -> None:
            if message["type"] == "http.response.start" and tags:
                await publish(tags)
            await send(message)

        try:
            await self.app(scope, receive, send_after_publishing)
        finally:
            await publish(tags)
