"""Rate limits that hold across processes, kept in the database (docs/decisions/072-rate-limits.md).

A limit of N per window W is N slot rows per subject. Taking a slot is a conditional UPDATE of a
slot that is free (its `free_at` has passed) guarded by the row's version, and marks it busy for W.
So at most N takes fall in any window of length W (an exact sliding window, not fixed buckets that
allow 2N across a boundary), and of two processes racing for one slot exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise import fields
from tortoise.expressions import F
from tortoise.models import Model

from models.clock import utcnow
from models.errors import DomainError

NEVER_USED = datetime(2000, 1, 1, tzinfo=UTC)


class RateLimitSlot(Model):
    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=96)
    slot = fields.IntField()
    free_at = fields.DatetimeField(db_index=True)
    version = fields.IntField(default=0)

    class Meta:
        table = "rate_limit_slot"
        unique_together = (("key", "slot"),)


class RateLimited(DomainError):
    default_message = "too many requests; try again later"

    def __init__(self, limit: str, retry_after_seconds: int) -> None:
        super().__init__(
            f"too many requests ({limit}); try again in {retry_after_seconds} s",
            limit=limit,
            retry_after_seconds=retry_after_seconds,
        )


@dataclass(frozen=True)
class Limit:
    name: str  # e.g. "phone-minute"; part of the key, and shown in the error
    count: int
    window: timedelta


@dataclass(frozen=True)
class _Taken:
    slot_id: int
    version: int
    previous_free_at: datetime


async def _take(subject: str, limit: Limit) -> _Taken:
    key = f"{limit.name}:{subject}"
    for _round in range(limit.count + 3):
        now = utcnow()
        slots = await RateLimitSlot.filter(key=key).order_by("free_at", "slot")
        if len(slots) < limit.count:
            # First use (or after a purge): create the slots; a concurrent creator is not an error.
            await RateLimitSlot.bulk_create(
                [RateLimitSlot(key=key, slot=n, free_at=NEVER_USED) for n in range(limit.count)],
                ignore_conflicts=True,
            )
            continue
        free = [slot for slot in slots[: limit.count] if slot.free_at <= now]
        if not free:
            wait = min(slot.free_at for slot in slots) - now
            raise RateLimited(limit.name, max(1, int(wait.total_seconds() + 0.999)))
        for slot in free:
            won = await RateLimitSlot.filter(id=slot.id, version=slot.version).update(
                free_at=now + limit.window, version=F("version") + 1
            )
            if won == 1:
                return _Taken(slot.id, slot.version + 1, slot.free_at)
        # Every free slot went to a concurrent caller between our read and our update: look again.
    raise RateLimited(limit.name, 1)


async def take(claims: list[tuple[Limit, str]]) -> None:
    """Take one slot under every (limit, subject), or none: a refusal gives back what was taken."""
    taken: list[_Taken] = []
    try:
        for limit, subject in claims:
            taken.append(await _take(subject, limit))
    except RateLimited:
        for slot in reversed(taken):
            await RateLimitSlot.filter(id=slot.slot_id, version=slot.version).update(
                free_at=slot.previous_free_at, version=F("version") + 1
            )
        raise


async def purge_free_slots() -> int:
    """Slots that are free again carry no state (a missing slot is recreated free)."""
    return await RateLimitSlot.filter(free_at__lt=utcnow() - timedelta(minutes=5)).delete()
