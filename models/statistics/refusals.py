"""Refused booking requests, counted per local day, doctor and reason (docs/decisions/182).

A refusal rolls its own transaction back, so it is counted afterwards, by the use case, in one small
upsert of its own; the counter row is chosen by the account, so a crowd refused at once spreads over
the shards.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from models.booking.rules import (
    Blacklisted,
    BookingClosed,
    DuplicateBooking,
    NotYetReleased,
    QuotaExceeded,
    SlotUnavailable,
)
from models.scheduling import Slot
from models.statistics import rollup
from models.statistics.metrics import Metric, local_day

REASONS: dict[type[Exception], Metric] = {
    SlotUnavailable: Metric.REFUSED_SOLD_OUT,
    NotYetReleased: Metric.REFUSED_NOT_RELEASED,
    QuotaExceeded: Metric.REFUSED_QUOTA,
    DuplicateBooking: Metric.REFUSED_DUPLICATE,
    Blacklisted: Metric.REFUSED_BLACKLISTED,
    BookingClosed: Metric.REFUSED_CLOSED,
}


async def count_refusal(
    error: Exception, *, slot_id: int, account_id: int, at: datetime, tz: ZoneInfo
) -> None:
    """Count one refused attempt; refusals of no known reason or for no such slot are not attempts."""
    metric = REASONS.get(type(error))
    if metric is None:
        return
    found = await Slot.filter(id=slot_id).values_list("schedule__department_id", "schedule__doctor_id")
    if not found:
        return
    department_id, doctor_id = found[0]
    key = (local_day(at, tz), department_id, doctor_id, metric.value, account_id % rollup.SHARDS)
    await rollup.add([(key, 1)])


async def count_sold_out_refusals(refusals: Mapping[tuple[int, date, int], int]) -> None:
    """Refusals a process answered from its sold-out slots (models/booking/sold_out.py), in one go."""
    if not refusals:
        return
    slot_ids = sorted({slot_id for slot_id, _, _ in refusals})
    found = await Slot.filter(id__in=slot_ids).values_list(
        "id", "schedule__department_id", "schedule__doctor_id"
    )
    owners = {int(slot_id): (int(department), int(doctor)) for slot_id, department, doctor in found}
    metric = Metric.REFUSED_SOLD_OUT.value
    counts = [
        ((day, *owners[slot_id], metric, account_id % rollup.SHARDS), amount)
        for (slot_id, day, account_id), amount in refusals.items()
        if slot_id in owners
    ]
    await rollup.add(counts)
