"""Pure rules of the booking engine (no database): release time, session periods, slot splitting,
the booking window, the cancellation cutoff and request fingerprints; and the expected failures."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.errors import DomainError, InvalidInput
from models.scheduling import Period


class SlotUnavailable(DomainError):
    default_message = "this time slot has no seat left"


class NotYetReleased(DomainError):
    default_message = "numbers for this session are not released yet"
    release_at: datetime

    def __init__(self, release_at: datetime) -> None:
        super().__init__(
            f"numbers for this session are released at {release_at.isoformat()}", release_at=release_at
        )


class BookingClosed(DomainError):
    default_message = "this session can no longer be booked online"


class DuplicateBooking(DomainError):
    default_message = "this patient already has a booking for this session or department that day"


class QuotaExceeded(DomainError):
    default_message = "this account has reached its number of bookings for that day"

    def __init__(self, limit: int) -> None:
        super().__init__(f"an account may hold at most {limit} active bookings per day", limit=limit)


class Blacklisted(DomainError):
    default_message = "online booking is blocked after repeated no-shows"
    ends_at: datetime

    def __init__(self, ends_at: datetime) -> None:
        super().__init__(
            f"online booking is blocked after repeated no-shows until {ends_at.isoformat()}", ends_at=ends_at
        )


class PatientNotFound(DomainError):
    default_message = "no such patient on this account"


class IdempotencyKeyReused(DomainError):
    default_message = "this idempotency key was already used for a different request"


class CancellationClosed(DomainError):
    default_message = "this booking can no longer be cancelled online"

    def __init__(self, deadline: datetime) -> None:
        super().__init__(f"bookings can be cancelled online until {deadline.isoformat()}", deadline=deadline)


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


def check_booking_window(
    *, now: datetime, release_at: datetime, session_starts_at: datetime, stopped: bool
) -> None:
    """Bookable from the release time until the session starts, unless the session is stopped."""
    if stopped:
        raise BookingClosed("this session is stopped (停诊)")
    if now < release_at:
        raise NotYetReleased(release_at)
    if now >= session_starts_at:
        raise BookingClosed("this session has started; book at the registration desk")


def cancel_deadline(slot_starts_at: datetime, cutoff_minutes: int) -> datetime:
    return slot_starts_at - timedelta(minutes=cutoff_minutes)


def check_cancellable(*, now: datetime, slot_starts_at: datetime, cutoff_minutes: int) -> None:
    deadline = cancel_deadline(slot_starts_at, cutoff_minutes)
    if now > deadline:
        raise CancellationClosed(deadline)


def request_fingerprint(slot_id: int, patient_id: int) -> str:
    """What an idempotency key is bound to: the same key with other arguments is refused."""
    return hashlib.sha256(f"book:{slot_id}:{patient_id}".encode()).hexdigest()


def hold_expires_at(now: datetime, hold_minutes: int) -> datetime:
    return now + timedelta(minutes=hold_minutes)
