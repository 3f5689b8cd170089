"""Pure rules of the booking engine (no database): the booking window, the cancellation cutoff,
hold deadlines and request fingerprints; and the expected failures of booking."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from models.errors import DomainError


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


def check_desk_window(
    *, now: datetime, today: date, visit_date: date, ends_at: datetime, stopped: bool
) -> None:
    """The desk registers into today's sessions, before and after they start, until they end."""
    if stopped:
        raise BookingClosed("this session is stopped (停诊)")
    if visit_date != today:
        raise BookingClosed("the desk registers only for today's sessions")
    if now >= ends_at:
        raise BookingClosed("this session has ended")


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
