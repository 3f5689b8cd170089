"""The recommendation pre-fills the booking; bookSlot takes the pre-consultation id; the summary goes to
the session's doctor with the patient's details, to that patient and to administrators, audited."""

from __future__ import annotations

from typing import Any

from models.audit import AuditEntry
from models.pre_consultation import PreConsultation
from models.scheduling import Slot
from tests import factories
from tests.booking.operations import BOOK, book_input
from tests.fixtures.api import GraphQLClient
from tests.pre_consultation.scenario import converse_to_the_end, patient_with_login

REPORT = """
query($b: ID!) {
  bookingPreConsultation(bookingId: $b) {
    __typename
    ... on PreConsultationReport {
      bookingId patientName patientIdNumberMasked
      preConsultation { id recommendation { summary { chiefComplaint duration allergies } } }
    }
    ... on Error { message }
  }
}"""


async def _book_with(
    gql: GraphQLClient, actor: factories.Actor, slot_id: int, patient_id: int, pc_id: str | None
) -> dict[str, Any]:
    variables = book_input(slot_id, patient_id)
    if pc_id is not None:
        variables["input"]["preConsultationId"] = pc_id
    data = await gql.as_(actor.token).data(BOOK, variables)
    result: dict[str, Any] = data["bookSlot"]
    return result


async def test_the_doctor_of_the_booked_session_reads_the_summary_and_the_read_is_audited(
    gql: GraphQLClient,
) -> None:
    dermatology = await factories.department(name="皮肤科", code="PF-T1")
    doctor, doctor_login = await factories.doctor(dermatology)
    schedule = await factories.session(doctor_row=doctor)
    slot = await Slot.get(schedule_id=schedule.id)
    actor, patient_id = await patient_with_login("王小明")
    done = await converse_to_the_end(gql, actor, patient_id, "脸上长痘痘，又红又肿，好几个月了")
    assert done["recommendation"]["bookingDepartmentId"] == str(dermatology.id)

    booked = await _book_with(gql, actor, slot.id, patient_id, done["id"])
    assert booked["__typename"] == "Booking", booked
    row = await PreConsultation.get(id=int(done["id"]))
    assert row.booking_id == int(booked["id"])

    report = (await gql.as_(doctor_login.token).data(REPORT, {"b": booked["id"]}))["bookingPreConsultation"]
    assert report["__typename"] == "PreConsultationReport"
    assert report["patientName"] == "王小明"
    assert report["patientIdNumberMasked"].count("*") >= 6
    assert report["preConsultation"]["recommendation"]["summary"]["duration"] == "好几个月"
    mine = (await gql.as_(actor.token).data(REPORT, {"b": booked["id"]}))["bookingPreConsultation"]
    assert mine["__typename"] == "PreConsultationReport"
    reads = await AuditEntry.filter(action="pre_consultation.read", target_id=done["id"]).values_list(
        "actor_id", flat=True
    )
    assert sorted(reads) == sorted([doctor_login.id, actor.id])


async def test_another_doctor_and_another_patient_cannot_read_it(gql: GraphQLClient) -> None:
    schedule = await factories.session()
    slot = await Slot.get(schedule_id=schedule.id)
    actor, patient_id = await patient_with_login()
    done = await converse_to_the_end(gql, actor, patient_id, "牙疼，晚上疼得睡不着")
    booked = await _book_with(gql, actor, slot.id, patient_id, done["id"])
    _, stranger_doctor = await factories.doctor()
    stranger, _ = await patient_with_login("路人")
    for who in (stranger_doctor, stranger):
        report = (await gql.as_(who.token).data(REPORT, {"b": booked["id"]}))["bookingPreConsultation"]
        assert report["__typename"] == "NotFoundError"
    assert await AuditEntry.filter(action="pre_consultation.read").filter(target_id=done["id"]).count() == 0


async def test_an_unfinished_or_foreign_pre_consultation_cannot_be_attached(gql: GraphQLClient) -> None:
    schedule = await factories.session()
    slot = await Slot.get(schedule_id=schedule.id)
    actor, patient_id = await patient_with_login()
    other, other_patient = await patient_with_login("李娜")
    foreign = await converse_to_the_end(gql, other, other_patient, "牙疼")

    refused = await _book_with(gql, actor, slot.id, patient_id, foreign["id"])

    assert refused["__typename"] == "InvalidInputError"
    assert (await Slot.get(id=slot.id)).remaining == slot.remaining


PATIENT_VIEW = """
query($s: ID!) {
  sessionBookings(scheduleId: $s) {
    id patient { clinical { age preConsultation { id recommendation { summary { duration } } } } }
  }
}"""


async def test_the_patient_view_shows_the_summary_to_the_sessions_doctor_once_it_exists(
    gql: GraphQLClient,
) -> None:
    doctor, doctor_login = await factories.doctor()
    admin = await factories.admin_user()
    schedule = await factories.session(doctor_row=doctor)
    slot = await Slot.get(schedule_id=schedule.id)
    actor, patient_id = await patient_with_login("王小明")
    plain = await _book_with(gql, actor, slot.id, patient_id, None)
    before = await gql.as_(doctor_login.token).data(PATIENT_VIEW, {"s": str(schedule.id)})
    done = await converse_to_the_end(gql, actor, patient_id, "脸上长痘痘，又红又肿，好几个月了")
    # The patient finishes a pre-consultation after booking and it is attached to that booking.
    await PreConsultation.filter(id=int(done["id"])).update(booking_id=int(plain["id"]))

    after = await gql.as_(doctor_login.token).data(PATIENT_VIEW, {"s": str(schedule.id)})
    by_admin = await gql.as_(admin.token).data(PATIENT_VIEW, {"s": str(schedule.id)})

    assert before["sessionBookings"][0]["patient"]["clinical"]["preConsultation"] is None
    seen = after["sessionBookings"][0]["patient"]["clinical"]["preConsultation"]
    assert seen["id"] == done["id"]
    assert seen["recommendation"]["summary"]["duration"] == "好几个月"
    assert by_admin["sessionBookings"][0]["patient"]["clinical"]["preConsultation"]["id"] == done["id"]
    reads = await AuditEntry.filter(action="pre_consultation.read", target_id=done["id"]).values_list(
        "actor_id", flat=True
    )
    assert sorted(reads) == sorted([doctor_login.id, admin.id])
    assert await AuditEntry.filter(action="patient.clinical_view").count() == 3


async def test_another_doctor_reaching_the_patient_elsewhere_does_not_see_this_bookings_summary(
    gql: GraphQLClient,
) -> None:
    schedule = await factories.session()
    slot = await Slot.get(schedule_id=schedule.id)
    actor, patient_id = await patient_with_login()
    done = await converse_to_the_end(gql, actor, patient_id, "牙疼，晚上疼得睡不着")
    await _book_with(gql, actor, slot.id, patient_id, done["id"])
    # The same patient booked with another doctor: that doctor's view is of their own booking.
    other_doctor, other_login = await factories.doctor()
    other_session = await factories.session(doctor_row=other_doctor)
    other_slot = await Slot.get(schedule_id=other_session.id)
    await _book_with(gql, actor, other_slot.id, patient_id, None)

    view = await gql.as_(other_login.token).data(PATIENT_VIEW, {"s": str(other_session.id)})

    assert view["sessionBookings"][0]["patient"]["clinical"]["preConsultation"] is None
    assert await AuditEntry.filter(action="pre_consultation.read").count() == 0
