"""The booking's statuses and its one transition table (pure: no database)."""

from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    IN_CONSULTATION = "in_consultation"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NO_SHOW = "no_show"
    # 改约: the booking was moved to another slot; its successor is named in both histories.
    RESCHEDULED = "rescheduled"
    # Checked in but never seen by the session's end (never called, or skipped and never restored):
    # the patient came, so it does not count toward the no-show blacklist (decision 192).
    LEFT_UNSEEN = "left_unseen"


S = BookingStatus

# The one transition table of the booking aggregate; models/booking/transition.py is its only writer.
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.CONFIRMED, S.CANCELLED, S.EXPIRED, S.RESCHEDULED}),
    S.CONFIRMED: frozenset({S.CHECKED_IN, S.CANCELLED, S.NO_SHOW, S.RESCHEDULED}),
    # A checked-in patient who never answers the call is a no-show when the session ends.
    S.CHECKED_IN: frozenset({S.IN_CONSULTATION, S.NO_SHOW, S.LEFT_UNSEEN}),
    # Back to CHECKED_IN: sent for tests and re-entering the queue (回诊).
    S.IN_CONSULTATION: frozenset({S.COMPLETED, S.CHECKED_IN}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
    S.NO_SHOW: frozenset(),
    S.RESCHEDULED: frozenset(),
    S.LEFT_UNSEEN: frozenset(),
}

# Statuses that hold a seat and count as the patient's active booking.
ACTIVE = frozenset({S.PENDING_PAYMENT, S.CONFIRMED, S.CHECKED_IN, S.IN_CONSULTATION})
# Leaving an active status for one of these gives the seat back to the slot.
RELEASES_SEAT = frozenset({S.CANCELLED, S.EXPIRED, S.RESCHEDULED})
# A stopped session cancels bookings that have not reached the doctor yet.
CANCELLABLE_BY_STOP = frozenset({S.PENDING_PAYMENT, S.CONFIRMED})

# FHIR R4 Appointment.status for each of ours (a test maps them).
FHIR_STATUS: dict[BookingStatus, str] = {
    S.PENDING_PAYMENT: "pending",
    S.CONFIRMED: "booked",
    S.CHECKED_IN: "checked-in",
    S.IN_CONSULTATION: "arrived",
    S.COMPLETED: "fulfilled",
    S.CANCELLED: "cancelled",
    S.EXPIRED: "cancelled",
    S.NO_SHOW: "noshow",
    S.RESCHEDULED: "cancelled",  # FHIR books the replacement as a new Appointment
    S.LEFT_UNSEEN: "noshow",  # FHIR has no finer word; our blacklist tells them apart
}


def can_transition(current: BookingStatus, target: BookingStatus) -> bool:
    return target in TRANSITIONS[current]
