"""Reserved shares (decision 241): 复诊 seats for returning patients of the department, seats for staff
and students, both kept from the general pool by the one placement until the release time before the
session, when what is left opens to everyone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from gualema.database import dialect
from models.audit import AuditEntry
from models.booking import BookingStatus
from models.catalogue import Doctor
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import assert_seats_balance, book, book_input, first_slot
from tests.booking.test_flash_crowd import _book_all, _crowd
from tests.fixtures.api import GraphQLClient, LiveServer, ServerProcess

# 10 seats: 2 for 复诊, 2 for staff/students, 6 for everyone; no desk share, to keep the sums plain.
SHARES = {"desk_share_percent": 0, "followup_share_percent": 20, "staff_share_percent": 20}
MARK = """
mutation($id: ID!, $marked: Boolean!, $reason: String!) {
  markStaffOrStudent(accountId: $id, marked: $marked, reason: $reason) {
    __typename ... on Account { staffOrStudent } ... on Error { code }
  }
}"""


async def reserved_session(**overrides: Any) -> Any:
    values: dict[str, Any] = {"capacity": 10, "shares": SHARES, "starts_in": timedelta(days=2)}
    values.update(overrides)
    return await factories.session(**values)


async def returning_patient(session: Any, *, days_ago: int = 10) -> tuple[factories.Actor, int]:
    """An account whose 就诊人 completed a visit in the session's department `days_ago` days before it."""
    owner = await factories.patient_user(name="复诊患者")
    doctor = await Doctor.get(id=session.doctor_id)
    earlier = await factories.session(
        starts_in=-timedelta(days=days_ago) + timedelta(days=2), doctor_row=doctor
    )
    visit = await factories.confirmed_booking(earlier, owner)
    await type(visit).filter(id=visit.id).update(status=BookingStatus.COMPLETED)
    return owner, int(visit.patient_id)


async def staff_member(gql: GraphQLClient) -> tuple[factories.Actor, int]:
    admin = await factories.admin_user()
    nurse = await factories.patient_user(name="护士")
    marked = await gql.as_(admin.token).data(
        MARK, {"id": str(nurse.id), "marked": True, "reason": "本院护士"}
    )
    assert marked["markStaffOrStudent"] == {"__typename": "Account", "staffOrStudent": True}
    return nurse, (await factories.patient(nurse)).id


async def general_bookers(gql: GraphQLClient, slot_id: int, count: int) -> list[str]:
    answers = []
    for _ in range(count):
        someone = await factories.patient_user()
        answer = await book(gql, someone.token, slot_id, (await factories.patient(someone)).id)
        answers.append(answer["__typename"])
    return answers


async def test_everyone_else_finds_the_reserved_seats_taken_and_the_returning_patient_gets_one(
    gql: GraphQLClient,
) -> None:
    session = await reserved_session()
    slot = await first_slot(session.id)
    assert (slot.remaining, slot.followup_remaining, slot.staff_remaining) == (6, 2, 2)
    owner, patient_id = await returning_patient(session)

    crowd = await general_bookers(gql, slot.id, 7)
    returning = await book(gql, owner.token, slot.id, patient_id)

    assert crowd == ["Booking"] * 6 + ["SlotUnavailable"]
    assert returning["__typename"] == "Booking"
    slot = await first_slot(session.id)
    assert (slot.remaining, slot.followup_remaining, slot.staff_remaining) == (0, 1, 2)
    await assert_seats_balance(session.id)


async def test_a_returning_patient_takes_the_followup_share_before_the_general_pool(
    gql: GraphQLClient,
) -> None:
    session = await reserved_session()
    slot = await first_slot(session.id)
    owner, patient_id = await returning_patient(session)

    assert (await book(gql, owner.token, slot.id, patient_id))["__typename"] == "Booking"

    slot = await first_slot(session.id)
    assert (slot.remaining, slot.followup_remaining) == (6, 1)


async def test_a_visit_older_than_the_window_or_in_another_department_does_not_count(
    gql: GraphQLClient,
) -> None:
    session = await reserved_session(capacity=5, shares={**SHARES, "followup_share_percent": 40})
    await Slot.filter(schedule_id=session.id).update(remaining=0)  # only the 复诊 (and staff) seats left
    slot = await first_slot(session.id)
    long_ago, long_ago_patient = await returning_patient(session, days_ago=31)
    elsewhere = await factories.patient_user()
    other_visit = await factories.confirmed_booking(
        await factories.session(starts_in=-timedelta(days=3)), elsewhere
    )
    await type(other_visit).filter(id=other_visit.id).update(status=BookingStatus.COMPLETED)
    recent, recent_patient = await returning_patient(session, days_ago=30)

    too_old = await book(gql, long_ago.token, slot.id, long_ago_patient)
    other_department = await book(gql, elsewhere.token, slot.id, other_visit.patient_id)
    within = await book(gql, recent.token, slot.id, recent_patient)

    assert (too_old["__typename"], other_department["__typename"]) == ("SlotUnavailable", "SlotUnavailable")
    assert within["__typename"] == "Booking"


async def test_staff_and_students_marked_by_an_administrator_get_the_staff_share(gql: GraphQLClient) -> None:
    session = await reserved_session()
    slot = await first_slot(session.id)
    await Slot.filter(id=slot.id).update(remaining=0)
    stranger = await factories.patient_user()

    refused = await book(gql, stranger.token, slot.id, (await factories.patient(stranger)).id)
    nurse, nurse_patient = await staff_member(gql)
    booked = await book(gql, nurse.token, slot.id, nurse_patient)

    assert refused["__typename"] == "SlotUnavailable"
    assert booked["__typename"] == "Booking"
    slot = await first_slot(session.id)
    assert (slot.followup_remaining, slot.staff_remaining) == (2, 1)
    entry = await AuditEntry.get(action="account.staff_or_student")
    assert entry.before is not None
    assert entry.after is not None
    assert (
        entry.target_id,
        entry.before["staff_or_student"],
        entry.after["staff_or_student"],
        entry.reason,
    ) == (
        str(nurse.id),
        False,
        True,
        "本院护士",
    )


async def test_only_an_administrator_marks_staff(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    body = await gql.as_(patient.token)(MARK, {"id": str(patient.id), "marked": True, "reason": "我是医生"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_unsold_reserved_seats_open_to_everyone_at_the_release_time(gql: GraphQLClient) -> None:
    # The registration type opens its reserved seats 720 minutes before the session: 2 hours is past it.
    session = await reserved_session(starts_in=timedelta(hours=2))
    slot = await first_slot(session.id)

    crowd = await general_bookers(gql, slot.id, 11)

    assert crowd == ["Booking"] * 10 + ["SlotUnavailable"]
    slot = await first_slot(session.id)
    assert (slot.remaining, slot.followup_remaining, slot.staff_remaining) == (0, 0, 0)
    await assert_seats_balance(session.id)


async def test_a_share_of_zero_changes_nothing(gql: GraphQLClient) -> None:
    session = await factories.session(capacity=3)
    slot = await first_slot(session.id)
    assert await general_bookers(gql, slot.id, 4) == ["Booking"] * 3 + ["SlotUnavailable"]


async def _race(urls: list[str], gql: GraphQLClient) -> None:
    """40 general bookers, 2 returning patients and 2 staff members at once for 10 seats (2 + 2 reserved)."""
    session = await reserved_session()
    slot = (await first_slot(session.id)).id
    crowd = await _crowd(40)
    returning = [await returning_patient(session) for _ in range(2)]
    staff = [await staff_member(gql) for _ in range(2)]
    eligible = [(actor.token, book_input(slot, patient_id)) for actor, patient_id in returning + staff]

    results = await _book_all(urls, [(token, book_input(slot, p)) for token, p in crowd] + eligible)

    general = Counter(r["__typename"] for r in results[:40])
    assert general == {"Booking": 6, "SlotUnavailable": 34}
    assert [r["__typename"] for r in results[40:]] == ["Booking"] * 4
    assert sorted(r["queueNumber"] for r in results if r["__typename"] == "Booking") == list(range(1, 11))
    after = await first_slot(session.id)
    assert (after.remaining, after.followup_remaining, after.staff_remaining) == (0, 0, 0)
    await assert_seats_balance(session.id)


async def test_the_flash_crowd_never_takes_a_reserved_seat(
    live_server: LiveServer, gql: GraphQLClient
) -> None:
    await _race([live_server.url], gql)


async def test_two_server_processes_keep_the_reserved_shares(
    server_processes: Callable[..., ServerProcess], gql: GraphQLClient
) -> None:
    if dialect() == "sqlite":
        pytest.skip("SQLite is the single-process embedded default; scale-out needs PostgreSQL or MariaDB")
    servers = [server_processes(), server_processes()]
    await _race([server.url for server in servers], gql)
