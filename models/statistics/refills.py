"""Refill of cancelled seats by anyone, read from the booking history (docs/decisions/258).

Per slot: the seats its bookings gave back before the slot began (cancelled, lapsed, rescheduled
away), and of those, as many as were placed on the slot after the first one was given back:
min(freed, later placements). Counted on the visit date, for the slot's department and doctor. Nothing
is written on the booking hot path; closed days are frozen with the other counters (decision 257).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from models.booking.status import RELEASES_SEAT
from models.statistics import statements

SEATS_FREED = "visit_seats_freed"
SEATS_RETAKEN = "visit_seats_retaken"


@dataclass(frozen=True)
class SlotRefill:
    day: date
    department_id: int
    doctor_id: int
    freed: int
    retaken: int


def _names(statuses: frozenset[Any]) -> str:
    return ", ".join(f"'{status.value}'" for status in sorted(statuses, key=lambda s: s.value))


# A booking leaves an active status for one that gives its seat back at most once (those statuses
# are final), so the seats a slot gave back are its bookings in such a status, each at the time of its
# last event into it. The statement starts from the bookings of the dates (visit_date index) and
# reaches each one's history by its index: a year of events is never scanned.
_RELEASES = (
    "SELECT b.slot_id AS slot_id, b.visit_date AS day, b.department_id AS department_id,"  # noqa: S608 (fixed status names)
    " s.doctor_id AS doctor_id, MIN(b.freed_at) AS first_freed, COUNT(*) AS freed"
    " FROM (SELECT b.slot_id, b.visit_date, b.department_id, b.schedule_id, b.slot_starts_at,"
    " (SELECT MAX(e.at) FROM booking_event e WHERE e.booking_id = b.id AND e.to_status = b.status)"
    " AS freed_at FROM booking b"
    f" WHERE b.visit_date BETWEEN ? AND ? AND b.status IN ({_names(RELEASES_SEAT)})) b"
    " JOIN schedule s ON s.id = b.schedule_id WHERE b.freed_at < b.slot_starts_at{filters}"
    " GROUP BY b.slot_id, b.visit_date, b.department_id, s.doctor_id"
)
# Placements on the slot after its first seat was given back: a booking's created_at is the moment
# place_booking placed it (every way into booking goes through it). A slot's bookings share its
# visit date, so the date's index finds them.
_REFILLS = (
    "SELECT r.day AS day, r.department_id AS department_id, r.doctor_id AS doctor_id,"
    " r.freed AS freed, COUNT(p.id) AS placed FROM ({releases}) r"
    " LEFT JOIN booking p ON p.slot_id = r.slot_id AND p.created_at > r.first_freed"
    " AND p.visit_date BETWEEN ? AND ?"
    " GROUP BY r.slot_id, r.day, r.department_id, r.doctor_id, r.freed"
)


async def by_slot(
    first: date, last: date, *, department_id: int | None = None, doctor_id: int | None = None
) -> list[SlotRefill]:
    """Seats freed and retaken for each slot with a visit date in [first, last]."""
    dialect = statements.dialect()
    filters = ""
    values: list[Any] = [statements.day_value(dialect, first), statements.day_value(dialect, last)]
    if department_id is not None:
        filters += " AND b.department_id = ?"
        values.append(department_id)
    if doctor_id is not None:
        filters += " AND s.doctor_id = ?"
        values.append(doctor_id)
    found = await statements.rows(
        _REFILLS.format(releases=_RELEASES.format(filters=filters)), values + values[:2]
    )
    return [
        SlotRefill(
            day=statements.as_date(row["day"]),
            department_id=int(row["department_id"]),
            doctor_id=int(row["doctor_id"]),
            freed=int(row["freed"]),
            retaken=min(int(row["freed"]), int(row["placed"])),
        )
        for row in found
    ]
