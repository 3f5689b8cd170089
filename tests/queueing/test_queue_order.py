"""The ordering rule as a pure function (decision 062)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from models.queueing import QueueRules, checkin_rank, queue_order, reentry_rank

NINE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
RULES = QueueRules(returned_after=2, restored_after=3)


@dataclass(frozen=True)
class Ticket:
    id: int
    rank: int
    label: str
    priority: bool = False
    priority_at: datetime | None = None


def on_time(id: int, number: int) -> Ticket:
    return Ticket(id, checkin_rank(number, late=False, checked_in_at=NINE), f"A{number:03d}")


def late(id: int, number: int, minutes_after_nine: int) -> Ticket:
    at = NINE + timedelta(minutes=minutes_after_nine)
    return Ticket(id, checkin_rank(number, late=True, checked_in_at=at), f"A{number:03d}")


def labels(tickets: list[Ticket]) -> list[str]:
    return [t.label for t in queue_order(tickets)]


def test_patients_on_time_are_ordered_by_their_booked_number_not_by_arrival() -> None:
    assert labels([on_time(1, 5), on_time(2, 2), on_time(3, 9)]) == ["A002", "A005", "A009"]


def test_late_arrivals_go_behind_everyone_on_time_in_order_of_arrival() -> None:
    queue = [
        late(1, 1, minutes_after_nine=20),
        on_time(2, 7),
        late(3, 2, minutes_after_nine=5),
        on_time(4, 8),
    ]
    assert labels(queue) == ["A007", "A008", "A002", "A001"]


def test_priority_patients_go_first_in_the_order_staff_flagged_them() -> None:
    elderly = Ticket(
        1, checkin_rank(9, late=False, checked_in_at=NINE), "A009", True, NINE + timedelta(minutes=2)
    )
    emergency = Ticket(
        2, checkin_rank(8, late=False, checked_in_at=NINE), "A008", True, NINE + timedelta(minutes=1)
    )
    assert labels([on_time(3, 1), elderly, emergency]) == ["A008", "A009", "A001"]


def test_a_patient_back_from_tests_reenters_behind_two_and_moves_forward_as_others_are_called() -> None:
    waiting = queue_order([on_time(1, 4), on_time(2, 5), on_time(3, 6), on_time(4, 7)])
    back = Ticket(9, reentry_rank(waiting, RULES.returned_after), "A001")

    assert labels([*waiting, back]) == ["A004", "A005", "A001", "A006", "A007"]
    # A004 is called: the returned patient is now second, not held two places back forever.
    assert labels([*waiting[1:], back]) == ["A005", "A001", "A006", "A007"]


def test_a_restored_skipped_patient_reenters_behind_three_or_at_the_end_of_a_short_queue() -> None:
    waiting = queue_order([on_time(1, 4), on_time(2, 5), on_time(3, 6), on_time(4, 7)])
    restored = Ticket(9, reentry_rank(waiting, RULES.restored_after), "A002")
    assert labels([*waiting, restored]) == ["A004", "A005", "A006", "A002", "A007"]

    short = queue_order([on_time(1, 4)])
    assert labels([*short, Ticket(9, reentry_rank(short, RULES.restored_after), "A002")]) == ["A004", "A002"]
    assert reentry_rank([], RULES.restored_after) > 0


def test_priority_patients_are_not_counted_when_placing_a_returning_patient() -> None:
    flagged = Ticket(5, checkin_rank(9, late=False, checked_in_at=NINE), "A009", True, NINE)
    waiting = queue_order([flagged, on_time(1, 4), on_time(2, 5), on_time(3, 6)])
    back = Ticket(9, reentry_rank(waiting, 2), "A001")
    assert labels([*waiting, back]) == ["A009", "A004", "A005", "A001", "A006"]
