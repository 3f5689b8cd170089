from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from models.accounts import Patient
from models.audit import AuditEntry
from models.booking import BookingStatus
from models.booking.placement import BookingPolicy, BookingRequest, place_booking
from models.reactions import change_booking
from models.scheduling import Slot
from tests import factories
from tests.fixtures.api import GraphQLClient

ADD = """
mutation($input: AddPatientInput!) {
  addPatient(input: $input) {
    __typename
    ... on Patient { id name relation idKind idNumber phone }
    ... on Error { message }
    ... on InvalidInputError { field }
  }
}"""
MY_PATIENTS = "{ myPatients { name idNumber phone } }"
ME_WITH_PATIENTS = "{ me { name patients { name relation idNumber } } }"
REMOVE = "mutation($id: ID!) { removePatient(patientId: $id) { __typename } }"

MOTHER_ID = factories.resident_id(birth="19700102", region="110108")


def _input(**overrides: Any) -> dict[str, Any]:
    values = {"name": "刘芳", "idNumber": MOTHER_ID, "phone": "137 0000 1234", "relation": "PARENT"}
    values.update(overrides)
    return {"input": values}


async def test_a_patient_adds_a_family_member_and_sees_only_masked_numbers(gql: GraphQLClient) -> None:
    user = await factories.patient_user()

    added = (await gql.as_(user.token).data(ADD, _input()))["addPatient"]

    assert added == {
        "__typename": "Patient",
        "id": added["id"],
        "name": "刘芳",
        "relation": "PARENT",
        "idKind": "RESIDENT_ID",
        "idNumber": MOTHER_ID[:3] + "*" * 11 + MOTHER_ID[-4:],
        "phone": "137****1234",
    }
    listed = await gql.as_(user.token).data(MY_PATIENTS)
    assert listed == {"myPatients": [{"name": "刘芳", "idNumber": added["idNumber"], "phone": "137****1234"}]}


async def test_the_id_number_is_stored_encrypted_and_never_audited(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    await gql.as_(user.token).data(ADD, _input())

    row = await Patient.get(account_id=user.id)
    assert MOTHER_ID not in row.id_number_cipher
    assert MOTHER_ID[6:14] not in row.id_number_cipher
    assert MOTHER_ID not in row.id_number_hash
    entries = await AuditEntry.all().values("before", "after", "reason")
    assert entries
    assert MOTHER_ID not in str(entries)


async def test_a_wrong_check_digit_is_refused_naming_the_field(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    wrong = MOTHER_ID[:17] + ("0" if MOTHER_ID[17] != "0" else "1")

    result = (await gql.as_(user.token).data(ADD, _input(idNumber=wrong)))["addPatient"]

    assert result == {
        "__typename": "InvalidInputError",
        "message": "the ID number's check digit does not match",
        "field": "idNumber",
    }


async def test_a_student_number_is_accepted_instead_of_an_id_number(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    result = await gql.as_(user.token).data(
        ADD, _input(idKind="CAMPUS_NUMBER", idNumber="2023110456", relation="SELF", name="张三")
    )
    assert result["addPatient"]["idNumber"] == "202***0456"


async def test_the_same_person_twice_and_too_many_people_are_typed_errors(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    client = gql.as_(user.token)
    await client.data(ADD, _input())

    again = (await client.data(ADD, _input(name="刘 芳")))["addPatient"]
    assert again["__typename"] == "DuplicatePatientError"

    for year in range(1980, 1985):  # the limit is 6 per account
        await client.data(ADD, _input(idNumber=factories.resident_id(birth=f"{year}0101"), relation="OTHER"))
    over = (await client.data(ADD, _input(idNumber=factories.resident_id(birth="19900101"))))["addPatient"]
    assert over == {
        "__typename": "PatientLimitReachedError",
        "message": "an account may manage at most 6 patients",
    }


async def test_me_lists_the_patients_of_the_caller_only(gql: GraphQLClient) -> None:
    user = await factories.patient_user(name="王小明")
    other = await factories.patient_user()
    await factories.patient(user, name="王小明")
    await factories.patient(other, name="别人")

    data = await gql.as_(user.token).data(ME_WITH_PATIENTS)

    assert data["me"]["name"] == "王小明"
    assert [p["name"] for p in data["me"]["patients"]] == ["王小明"]


async def test_a_patient_removes_only_their_own_patients(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    other = await factories.patient_user()
    mine = await factories.patient(user)
    theirs = await factories.patient(other)

    refused = await gql.as_(user.token).data(REMOVE, {"id": str(theirs.id)})
    removed = await gql.as_(user.token).data(REMOVE, {"id": str(mine.id)})

    assert refused["removePatient"]["__typename"] == "NotFoundError"
    assert removed["removePatient"]["__typename"] == "Patient"
    assert (await gql.as_(user.token).data(MY_PATIENTS))["myPatients"] == []


async def test_doctors_and_admins_have_no_patient_list_of_their_own(gql: GraphQLClient) -> None:
    _, doctor = await factories.doctor()
    body = await gql.as_(doctor.token)(MY_PATIENTS)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_patient_with_an_active_booking_or_waitlist_entry_cannot_be_removed(
    gql: GraphQLClient,
) -> None:
    user = await factories.patient_user()
    booked = await factories.patient(user)
    session = await factories.session(capacity=2)
    slot = await Slot.filter(schedule_id=session.id).first()
    assert slot is not None
    request = BookingRequest(user.id, slot.id, booked.id, "remove-guard-1")
    booking = (
        await place_booking(request, BookingPolicy(hold_minutes=15, max_per_account_per_day=3))
    ).booking

    refused = await gql.as_(user.token).data(REMOVE, {"id": str(booked.id)})
    async with in_transaction():
        await change_booking(booking, BookingStatus.CANCELLED, actor_id=user.id, reason="不去了")
    removed = await gql.as_(user.token).data(REMOVE, {"id": str(booked.id)})

    assert refused["removePatient"]["__typename"] == "PatientInUse"
    assert removed["removePatient"]["__typename"] == "Patient"
