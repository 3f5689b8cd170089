"""爽约: missed sessions become NO_SHOW; three in 90 days block online booking; an admin lifts it."""

from __future__ import annotations

from datetime import timedelta

from models.booking import Booking, BookingStatus
from models.booking.actions import sweep_no_shows
from models.clock import utcnow
from models.no_shows import NoShowBlock, NoShowPolicy
from models.scheduling import Schedule
from tests import factories
from tests.booking.operations import book, first_slot
from tests.fixtures.api import GraphQLClient

POLICY = NoShowPolicy(threshold=3, window_days=90, block_days=90)
BLOCKS = "{ myNoShowBlocks { patientId noShows endsAt } }"


async def _miss_a_session(gql: GraphQLClient, student: factories.Actor, patient_id: int) -> int:
    session = await factories.session()
    booked = await book(gql, student.token, (await first_slot(session.id)).id, patient_id)
    # The session took place: move it into the past.
    past = utcnow() - timedelta(days=1)
    await Schedule.filter(id=session.id).update(starts_at=past, ends_at=past + timedelta(hours=4))
    await Booking.filter(id=int(booked["id"])).update(slot_starts_at=past)
    return int(booked["id"])


async def test_three_missed_sessions_block_online_booking_until_a_date_the_patient_sees(
    gql: GraphQLClient,
) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    missed = [await _miss_a_session(gql, student, me.id) for _ in range(3)]

    assert await sweep_no_shows(POLICY) == 3
    assert await sweep_no_shows(POLICY) == 0  # each session is swept once

    assert set(await Booking.filter(id__in=missed).values_list("status", flat=True)) == {
        BookingStatus.NO_SHOW
    }
    blocks = (await gql.as_(student.token).data(BLOCKS))["myNoShowBlocks"]
    assert [(b["patientId"], b["noShows"]) for b in blocks] == [(str(me.id), 3)]
    block = await NoShowBlock.get(patient_id=me.id)
    assert block.ends_at - block.starts_at == timedelta(days=90)

    next_week = await factories.session(starts_in=timedelta(days=2))
    refused = await book(gql, student.token, (await first_slot(next_week.id)).id, me.id)
    assert refused["__typename"] == "Blacklisted"
    assert refused["endsAt"] == blocks[0]["endsAt"]


async def test_the_same_person_added_again_under_another_account_stays_blocked(gql: GraphQLClient) -> None:
    student, other_account = await factories.patient_user(), await factories.patient_user()
    number = factories.resident_id(birth="20010203")
    me = await factories.patient(student, id_number=number)
    for _ in range(3):
        await _miss_a_session(gql, student, me.id)
    await sweep_no_shows(POLICY)
    same_person = await factories.patient(other_account, id_number=number)

    session = await factories.session()
    refused = await book(gql, other_account.token, (await first_slot(session.id)).id, same_person.id)

    assert refused["__typename"] == "Blacklisted"


async def test_two_no_shows_do_not_block_and_checked_in_patients_are_not_no_shows(gql: GraphQLClient) -> None:
    student = await factories.patient_user()
    me = await factories.patient(student)
    await _miss_a_session(gql, student, me.id)
    await _miss_a_session(gql, student, me.id)
    attended = await _miss_a_session(gql, student, me.id)
    await Booking.filter(id=attended).update(status=BookingStatus.CHECKED_IN)

    assert await sweep_no_shows(POLICY) == 2
    assert await NoShowBlock.all().count() == 0
    assert (await Booking.get(id=attended)).status is BookingStatus.LEFT_UNSEEN  # came, never seen


async def test_an_admin_lifts_a_block_with_a_reason(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    student = await factories.patient_user()
    me = await factories.patient(student)
    for _ in range(3):
        await _miss_a_session(gql, student, me.id)
    await sweep_no_shows(POLICY)
    block = await NoShowBlock.get(patient_id=me.id)
    lift = """mutation($i: LiftNoShowBlockInput!) {
      liftNoShowBlock(input: $i) {
        __typename ... on NoShowBlock { liftReason liftedAt } ... on Error { message }
      }
    }"""

    without_reason = await gql.as_(admin.token).data(lift, {"i": {"blockId": str(block.id), "reason": " "}})
    lifted = await gql.as_(admin.token).data(lift, {"i": {"blockId": str(block.id), "reason": "病假证明"}})
    by_patient = await gql.as_(student.token)(lift, {"i": {"blockId": str(block.id), "reason": "x"}})

    assert without_reason["liftNoShowBlock"]["__typename"] == "InvalidInputError"
    assert lifted["liftNoShowBlock"]["liftReason"] == "病假证明"
    assert by_patient["errors"][0]["message"] == "only an administrator may do this"
    assert (await gql.as_(student.token).data(BLOCKS))["myNoShowBlocks"] == []
    session = await factories.session(starts_in=timedelta(days=3))
    assert (await book(gql, student.token, (await first_slot(session.id)).id, me.id))[
        "__typename"
    ] == "Booking"
