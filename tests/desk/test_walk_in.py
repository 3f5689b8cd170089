"""现场挂号: a registrar registers walk-ins into today's sessions from the desk share, then from the
online seats left, through the one placement; the fee is paid at the window."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from gualema.settings import get_settings
from models import audit
from models.accounts import Account, Patient, Role, StaffDepartment
from models.booking import Booking, BookingStatus, DeskPayment
from models.clock import utcnow
from models.no_shows import NoShowBlock
from models.scheduling import Schedule, Slot
from tests import factories
from tests.booking.operations import assert_seats_balance, book, first_slot
from tests.fixtures.api import GraphQLClient

WALK_IN = """
mutation($input: RegisterWalkInInput!) {
  registerWalkIn(input: $input) {
    __typename
    ... on Booking { id status queueNumber fee patientId history { reason } }
    ... on Error { message }
  }
}"""
CREATE_STAFF = """
mutation($input: CreateStaffAccountInput!) {
  createStaffAccount(input: $input) {
    __typename
    ... on Account { id role name }
    ... on Error { message }
  }
}"""


async def _today_session(*, capacity: int = 5, desk: int = 1, starts_in: timedelta, fee: int = 1000) -> Any:
    """A session of today (in the hospital's zone) with `desk` of its seats kept for the window."""
    session = await factories.session(capacity=capacity, fee=fee, starts_in=starts_in)
    await Schedule.filter(id=session.id).update(date=utcnow().astimezone(get_settings().tz).date())
    await Slot.filter(schedule_id=session.id).update(remaining=capacity - desk, desk_remaining=desk)
    return session


async def _registrar(department_id: int) -> factories.Actor:
    registrar = await factories.account(Role.REGISTRAR, name="挂号员")
    await StaffDepartment.create(account_id=registrar.id, department_id=department_id)
    return registrar


def _walk_in(schedule_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "input": {
            "scheduleId": str(schedule_id),
            "paymentMethod": "医保卡",
            "idempotencyKey": secrets.token_hex(8),
            **fields,
        }
    }


async def test_a_walk_in_read_from_an_id_card_is_registered_and_paid_after_the_session_started(
    gql: GraphQLClient,
) -> None:
    session = await _today_session(starts_in=-timedelta(hours=1))
    registrar = await _registrar(session.department_id)
    card = {"name": "李四", "idNumber": factories.resident_id("19800101"), "phone": "13912345678"}

    data = await gql.as_(registrar.token).data(WALK_IN, _walk_in(session.id, **card))

    booked = data["registerWalkIn"]
    assert (booked["__typename"], booked["status"], booked["queueNumber"], booked["fee"]) == (
        "Booking",
        "CONFIRMED",
        1,
        1000,
    )
    assert booked["history"] == [{"reason": "现场挂号 (registered at the desk)"}]
    patient = await Patient.get(id=int(booked["patientId"]))
    assert (patient.name, (await Account.get(id=patient.account_id)).phone) == ("李四", "13912345678")
    payment = await DeskPayment.get(booking_id=int(booked["id"]))
    assert (payment.method, payment.amount, payment.registrar_id) == ("医保卡", 1000, registrar.id)
    today = utcnow().astimezone(get_settings().tz).date()
    assert payment.receipt_no == f"D{today:%Y%m%d}{int(booked['id']):08d}"
    slot = await first_slot(session.id)
    assert (slot.desk_remaining, slot.remaining) == (0, 4)  # the desk share went first
    await assert_seats_balance(session.id)


async def test_the_flash_crowd_cannot_take_the_desk_share(gql: GraphQLClient) -> None:
    session = await _today_session(capacity=3, desk=1, starts_in=timedelta(hours=2), fee=0)
    slot = await first_slot(session.id)
    results = []
    for _ in range(3):
        student = await factories.patient_user()
        results.append(
            (await book(gql, student.token, slot.id, (await factories.patient(student)).id))["__typename"]
        )
    registrar = await _registrar(session.department_id)
    holder = await factories.patient_user()
    existing = await factories.patient(holder)

    data = await gql.as_(registrar.token).data(WALK_IN, _walk_in(session.id, patientId=str(existing.id)))

    assert results == ["Booking", "Booking", "SlotUnavailable"]
    assert data["registerWalkIn"]["__typename"] == "Booking"
    assert data["registerWalkIn"]["queueNumber"] == 3  # the same numbering as online bookings
    assert await DeskPayment.all().count() == 0  # a free session takes no money
    await assert_seats_balance(session.id)


async def test_once_the_desk_share_is_gone_the_desk_takes_online_seats_then_is_full(
    gql: GraphQLClient,
) -> None:
    session = await _today_session(capacity=2, desk=1, starts_in=-timedelta(minutes=10))
    registrar = await _registrar(session.department_id)

    answers = []
    for _ in range(3):
        person = await factories.patient(await factories.patient_user())
        answers.append(
            (await gql.as_(registrar.token).data(WALK_IN, _walk_in(session.id, patientId=str(person.id))))[
                "registerWalkIn"
            ]["__typename"]
        )

    assert answers == ["Booking", "Booking", "SlotUnavailable"]
    await assert_seats_balance(session.id)


async def test_duplicates_and_the_no_show_blacklist_apply_at_the_desk(gql: GraphQLClient) -> None:
    session = await _today_session(capacity=5, starts_in=-timedelta(minutes=10))
    registrar = await _registrar(session.department_id)
    holder = await factories.patient_user()
    person = await factories.patient(holder)
    blocked = await factories.patient(await factories.patient_user())
    now = utcnow()
    await NoShowBlock.create(
        identity_hash=blocked.id_number_hash,
        patient_id=blocked.id,
        account_id=blocked.account_id,
        no_shows=3,
        starts_at=now,
        ends_at=now + timedelta(days=30),
    )
    desk = gql.as_(registrar.token)

    first = await desk.data(WALK_IN, _walk_in(session.id, patientId=str(person.id)))
    again = await desk.data(WALK_IN, _walk_in(session.id, patientId=str(person.id)))
    refused = await desk.data(WALK_IN, _walk_in(session.id, patientId=str(blocked.id)))

    assert [r["registerWalkIn"]["__typename"] for r in (first, again, refused)] == [
        "Booking",
        "DuplicateBooking",
        "Blacklisted",
    ]


async def test_the_desk_serves_only_today_and_only_its_departments(gql: GraphQLClient) -> None:
    tomorrow = await factories.session(capacity=5, starts_in=timedelta(days=1, hours=2))
    today = await _today_session(starts_in=-timedelta(minutes=10))
    registrar = await _registrar(tomorrow.department_id)
    person = await factories.patient(await factories.patient_user())
    patient = await factories.patient_user()

    later = await gql.as_(registrar.token).data(WALK_IN, _walk_in(tomorrow.id, patientId=str(person.id)))
    elsewhere = await gql.as_(registrar.token).data(WALK_IN, _walk_in(today.id, patientId=str(person.id)))
    forbidden = await gql.as_(patient.token)(WALK_IN, _walk_in(today.id, patientId=str(person.id)))

    assert later["registerWalkIn"]["__typename"] == "BookingClosed"
    assert elsewhere["registerWalkIn"]["__typename"] == "NotFoundError"
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await Booking.filter(status=BookingStatus.CONFIRMED).count() == 0


async def test_an_administrator_creates_a_registrar_for_departments_with_an_audit_entry(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    department = await factories.department()
    variables = {
        "input": {
            "phone": "13700001111",
            "password": "desk-Passw0rd!",
            "name": "王五",
            "role": "REGISTRAR",
            "departmentIds": [str(department.id)],
        }
    }

    data = await gql.as_(admin.token).data(CREATE_STAFF, variables)
    no_department = await gql.as_(admin.token).data(
        CREATE_STAFF, {"input": {**variables["input"], "phone": "13700002222", "departmentIds": []}}
    )

    created = data["createStaffAccount"]
    assert (created["role"], created["name"]) == ("REGISTRAR", "王五")
    served = await StaffDepartment.filter(account_id=int(created["id"])).values_list(
        "department_id", flat=True
    )
    assert served == [department.id]
    entry = await audit.AuditEntry.get(action="account.create_staff")
    assert (entry.actor_id, entry.target_id) == (admin.id, created["id"])
    assert no_department["createStaffAccount"]["__typename"] == "InvalidInputError"
