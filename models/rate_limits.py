"""Rate limits that hold across processes, kept in the database (docs/decisions/072-rate-limits.md).

A limit of N per window W is up to N slot rows per subject, made as the window fills. Taking a slot
is a conditional UPDATE of a slot that is free (its `free_at` has passed) guarded by the row's
version, and marks it busy for W. So at most N takes fall in any window of length W (an exact
sliding window, not fixed buckets that allow 2N across a boundary), and of two processes racing for
one slot exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise import fields
from tortoise.exceptions import OperationalError
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
    # Each round reads one row, not the window's N: a generous limit (an operator's 100,000 per hour)
    # costs what a tight one does. Slots are made one at a time, as the window first fills.
    for _round in range(2 * limit.count + 3):
        try:
            taken = await _take_round(key, limit)
        except OperationalError as exc:
            # Each statement here stands alone (take is called outside transactions), so an InnoDB
            # deadlock victim among concurrent first takes is only that statement: look again.
            if "deadlock" not in str(exc).lower():
                raise
            continue
        if taken is not None:
            return taken
    raise RateLimited(limit.name, 1)


async def _take_round(key: str, limit: Limit) -> _Taken | None:
    """One look: a free slot taken, or a new slot made (None: look again), or RateLimited."""
    now = utcnow()
    free = await RateLimitSlot.filter(key=key, free_at__lte=now).order_by("free_at", "slot").first()
    if free is not None:
        won = await RateLimitSlot.filter(id=free.id, version=free.version).update(
            free_at=now + limit.window, version=F("version") + 1
        )
        if won == 1:
            return _Taken(free.id, free.version + 1, free.free_at)
        return None  # a concurrent caller took it between our read and our update: look again
    # None is free: every slot made is busy, so this reads what the window holds, not N.
    numbers = set(await RateLimitSlot.filter(key=key).values_list("slot", flat=True))
    if len(numbers) >= limit.count:
        earliest = await RateLimitSlot.filter(key=key).order_by("free_at").first()
        wait = (earliest.free_at - now) if earliest is not None else timedelta(seconds=1)
        raise RateLimited(limit.name, max(1, int(wait.total_seconds() + 0.999)))
    # The lowest number not in use (purged slots leave gaps), made free and taken by the conditional
    # UPDATE in the next round. A concurrent creator of the same number is not an error (ON
    # CONFLICT DO NOTHING keeps a surrounding transaction usable).
    number = min(set(range(len(numbers) + 1)) - numbers)
    await RateLimitSlot.bulk_create(
        [RateLimitSlot(key=key, slot=number, free_at=NEVER_USED)], ignore_conflicts=True
    )
    return None


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
