"""What a unit of work changed in the public catalogue and session listings, for the browse cache.

Writers note the sessions (and the catalogue) they touched here, inside their transaction; the edge
that ran them (a request, a background job) takes the notes after commit and publishes them, so every
process drops the answers that showed the old state (docs/decisions/260). Noting is cheap and never
fails: a note of a change that is later rolled back only costs one needless re-execution.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar

CATALOGUE = "catalogue"  # departments, doctors, rooms, registration types
LISTINGS = "sessions"  # which sessions exist (created, deleted, moved): every session listing


def session_tag(schedule_id: int) -> str:
    return f"session:{schedule_id}"


def slot_tag(slot_id: int) -> str:
    return f"slot:{slot_id}"


_noted: ContextVar[set[str] | None] = ContextVar("public_changes", default=None)


def collect() -> set[str]:
    """Start collecting for this unit of work (and the tasks it starts); returns the set to publish."""
    tags: set[str] = set()
    _noted.set(tags)
    return tags


def note(*tags: str) -> None:
    noted = _noted.get()
    if noted is not None:
        noted.update(tags)


def note_session(schedule_id: int, slot_id: int | None = None) -> None:
    """A session's seats, status, fee or times changed (and which slot, when one seat moved)."""
    if slot_id is None:
        note(session_tag(schedule_id))
    else:
        note(session_tag(schedule_id), slot_tag(slot_id))


class ChangeVersions:
    """This process's view of when each tag last changed, in one sequence. Whatever was read from the
    database before a change was published began at a lower sequence than the change's version."""

    # Bounded: tags of every slot ever touched would otherwise accumulate for the process's life.
    MAX_TAGS = 200_000

    def __init__(self) -> None:
        self.sequence = 0
        self.floor = 0  # nothing that began before this is trusted (messages may have been lost)
        self.versions: dict[str, int] = {}

    def changed(self, tags: Iterable[str]) -> None:
        self.sequence += 1
        for tag in tags:
            self.versions[tag] = self.sequence
        if len(self.versions) > self.MAX_TAGS:
            self.forget()

    def forget(self) -> None:
        self.sequence += 1
        self.floor = self.sequence
        self.versions.clear()

    def unchanged_since(self, began: int, tags: Iterable[str]) -> bool:
        if began < self.floor:
            return False
        versions = self.versions
        return all(versions.get(tag, 0) <= began for tag in tags)


# One per process, kept current by the realtime layer (gualema/browse_cache.py follows the changes).
seen = ChangeVersions()
