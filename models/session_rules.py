"""Pure rules of clinic sessions (no database): the named periods and their hours, release times
and how a session is cut into slots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from models.errors import InvalidInput


class Period(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    CUSTOM = "custom"


# Default hours of the named periods, local time (the hospital's zone).
PERIOD_HOURS: dict[Period, tuple[time, time]] = {
    Period.MORNING: (time(8, 0), time(12, 0)),
    Period.AFTERNOON: (time(13, 30), time(17, 30)),
    Period.EVENING: (time(18, 0), time(21, 0)),
}


def period_of(start: time) -> Period:
    if start < time(12, 0):
        return Period.MORNING
    if start < time(18, 0):
        return Period.AFTERNOON
    return Period.EVENING


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def default_release_at(day: date, *, days_ahead: int, hour: int, tz: ZoneInfo) -> datetime:
    """Numbers for `day` are released `days_ahead` days before, at `hour` o'clock local time (放号)."""
    return local_datetime(day - timedelta(days=days_ahead), time(hour, 0), tz)


@dataclass(frozen=True)
class SlotPlan:
    starts_at: datetime
    ends_at: datetime
    capacity: int


def plan_slots(starts_at: datetime, ends_at: datetime, slot_minutes: int, capacity: int) -> list[SlotPlan]:
    """Split a session into slots of `slot_minutes` (the last may be shorter) and spread the capacity:
    earlier slots take the remainder, so 10 seats over 4 slots are 3, 3, 2, 2."""
    if slot_minutes < 5 or slot_minutes > 24 * 60:
        raise InvalidInput("slotMinutes", "a slot lasts 5 minutes to a day")
    if ends_at <= starts_at:
        raise InvalidInput("endTime", "a session ends after it starts")
    if capacity < 1 or capacity > 10_000:
        raise InvalidInput("capacity", "a session has 1 to 10000 seats")
    bounds: list[tuple[datetime, datetime]] = []
    cursor = starts_at
    step = timedelta(minutes=slot_minutes)
    while cursor < ends_at:
        bounds.append((cursor, min(cursor + step, ends_at)))
        cursor += step
    count = min(len(bounds), capacity)  # never a slot of zero seats
    bounds = bounds[:count]
    base, extra = divmod(capacity, count)
    return [SlotPlan(start, end, base + (1 if i < extra else 0)) for i, (start, end) in enumerate(bounds)]
