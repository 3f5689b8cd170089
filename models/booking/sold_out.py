"""Sold-out slots known to this process, so a release-hour crowd's refusals never reach the database
(docs/decisions/262).

A slot is marked after the database refused a booking for want of a seat, when no share of it (the
public pool, 复诊, staff) has a seat left for anyone, with the idempotency keys of
every booking it holds and the change sequence at which that refused request began. It answers
"no seat" for any other key while neither the slot nor its session changed since (a seat given back,
加号, a stop or an edit bumps their tags in every process, models/public_changes.py) and the session
has not started (then the database's answer is "booking closed"). A key that booked the slot replays
through the database and gets its own booking back. Refusals answered here are counted in memory and
added to the statistics by a background job, as the database path counts its own.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from models.booking.tables import Booking
from models.public_changes import seen, session_tag, slot_tag
from models.scheduling import Slot


@dataclass(frozen=True)
class SoldOut:
    tags: tuple[str, str]
    session_starts_at: datetime
    holders: frozenset[tuple[int, str]]  # (account id, idempotency key) of the slot's bookings
    began: int
    learned_at: float  # monotonic seconds


# A backstop for seats added outside the servers (SQL by hand): one more look at the database.
MAX_AGE_SECONDS = 30.0


class SoldOutSlots:
    def __init__(self) -> None:
        self.marked: dict[int, SoldOut] = {}
        # (slot id, local day, account id) -> refusals answered here, not yet counted in the database
        self.refusals: Counter[tuple[int, date, int]] = Counter()

    def is_marked(self, slot_id: int, now: datetime) -> bool:
        """Sold out as far as this process knows, for anyone but the keys that booked it."""
        mark = self.marked.get(slot_id)
        if mark is None:
            return False
        if (
            now >= mark.session_starts_at
            or time.monotonic() - mark.learned_at > MAX_AGE_SECONDS
            or not seen.unchanged_since(mark.began, mark.tags)
        ):
            del self.marked[slot_id]
            return False
        return True

    def refuses(self, slot_id: int, account_id: int, idempotency_key: str, now: datetime) -> bool:
        return (
            self.is_marked(slot_id, now) and (account_id, idempotency_key) not in self.marked[slot_id].holders
        )

    async def learn(self, slot_id: int, began: int) -> None:
        """After the database said "no seat" to a request that began at `began`: remember it."""
        found = await Slot.filter(id=slot_id).values_list(
            "schedule_id", "schedule__starts_at", "remaining", "followup_remaining", "staff_remaining"
        )
        if not found:
            return
        schedule_id, starts_at, *seats = found[0]
        if any(seats):
            return  # a reserved share (复诊, staff; decision 241) still has seats for someone else
        holders = await Booking.filter(slot_id=slot_id).values_list("account_id", "idempotency_key")
        tags = (slot_tag(slot_id), session_tag(int(schedule_id)))
        # A seat given back since the request began (here or in another process) leaves it unmarked.
        if seen.unchanged_since(began, tags):
            keys = frozenset((int(account), str(key)) for account, key in holders)
            self.marked[slot_id] = SoldOut(tags, starts_at, keys, began, time.monotonic())

    def count(self, slot_id: int, day: date, account_id: int) -> None:
        self.refusals[(slot_id, day, account_id)] += 1

    def take_refusals(self) -> Counter[tuple[int, date, int]]:
        taken, self.refusals = self.refusals, Counter()
        return taken


# One per process, like the change versions it trusts.
sold_out_slots = SoldOutSlots()
