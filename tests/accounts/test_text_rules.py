"""Typed text (issue 13.2): phones and ID numbers hold ASCII digits (fullwidth ones are folded and
deduplicated in that form, other scripts' digits refused); names and reasons refuse control, format
and NUL characters; over-long input is refused before the database sees it. Every backend answers
with the same typed InvalidInputError."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import Account, Patient
from models.booking import Booking, BookingStatus
from tests import factories
from tests.booking.operations import book, first_slot
from tests.fixtures.api import GraphQLClient

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) {
    __typename
    ... on AuthPayload { account { phone } }
    ... on InvalidInputError { field }
  }
}"""
ADD_PATIENT = """
mutation($input: AddPatientInput!) {
  addPatient(input: $input) { __typename ... on Patient { id idNumber } ... on InvalidInputError { field } }
}"""
CANCEL = """
mutation($input: CancelBookingInput!) {
  cancelBooking(input: $input) { __typename ... on Booking { status } ... on InvalidInputError { field } }
}"""

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _register(phone: str, name: str = "王小明") -> dict[str, Any]:
    return {"input": {"phone": phone, "password": "abc12345", "name": name}}


def _patient(id_number: str, name: str = "刘芳", phone: str = "13700001234") -> dict[str, Any]:
    return {"input": {"name": name, "idNumber": id_number, "phone": phone, "relation": "PARENT"}}


async def test_a_phone_with_arabic_indic_digits_is_refused(gql: GraphQLClient) -> None:
    data = await gql.data(REGISTER, _register("13٧٠٠٠٠٩٩٩٩"))

    assert data["register"] == {"__typename": "InvalidInputError", "field": "phone"}
    assert await Account.all().count() == 0


async def test_a_fullwidth_phone_is_stored_in_ascii_and_cannot_register_twice(gql: GraphQLClient) -> None:
    first = await gql.data(REGISTER, _register("１３８１２３４５６７８"))
    again = await gql.data(REGISTER, _register("13812345678"))

    assert first["register"]["__typename"] == "AuthPayload"
    assert again["register"]["__typename"] == "PhoneTakenError"
    assert await Account.filter(phone="13812345678").count() == 1


async def test_the_same_resident_id_in_three_scripts_is_one_person(gql: GraphQLClient) -> None:
    user = await factories.patient_user()
    number = factories.resident_id(birth="19700102", region="110108")
    as_user = gql.as_(user.token)

    ascii_form = (await as_user.data(ADD_PATIENT, _patient(number)))["addPatient"]
    fullwidth = (await as_user.data(ADD_PATIENT, _patient(number.translate(FULLWIDTH))))["addPatient"]
    arabic = (await as_user.data(ADD_PATIENT, _patient(number.translate(ARABIC_INDIC))))["addPatient"]

    assert ascii_form["__typename"] == "Patient"
    assert fullwidth["__typename"] == "DuplicatePatientError"
    assert arabic == {"__typename": "InvalidInputError", "field": "idNumber"}
    assert await Patient.filter(account_id=user.id).count() == 1


HIDDEN = {
    "bell": "王\x07小明",
    "newline": "王\n小明",
    "zero width space": "王\u200b小明",
    "zero width joiner": "王\u200d小明",
    "right-to-left override": "\u202e明小王",
    "bidi isolate": "王\u2066小明\u2069",
    "byte order mark": "\ufeff王小明",
    "line separator": "王\u2028小明",
    "private use": "王\ue000小明",
}


@pytest.mark.parametrize("name", HIDDEN.values(), ids=HIDDEN.keys())
async def test_names_with_control_or_invisible_characters_are_refused(gql: GraphQLClient, name: str) -> None:
    user = await factories.patient_user()
    number = factories.resident_id(birth="19700102", region="110108")

    registered = await gql.data(REGISTER, _register("13812340000", name=name))
    added = await gql.as_(user.token).data(ADD_PATIENT, _patient(number, name=name))

    assert registered["register"] == {"__typename": "InvalidInputError", "field": "name"}
    assert added["addPatient"] == {"__typename": "InvalidInputError", "field": "name"}
    assert await Patient.filter(account_id=user.id).count() == 0


async def test_over_long_text_is_refused_before_the_database(gql: GraphQLClient) -> None:
    user = await factories.patient_user()

    long_name = await gql.data(REGISTER, _register("13812340001", name="王" * 5000))
    long_phone = await gql.data(REGISTER, _register("1" * 5000))
    long_id = await gql.as_(user.token).data(ADD_PATIENT, _patient("1" * 5000))

    assert long_name["register"] == {"__typename": "InvalidInputError", "field": "name"}
    assert long_phone["register"] == {"__typename": "InvalidInputError", "field": "phone"}
    assert long_id["addPatient"] == {"__typename": "InvalidInputError", "field": "idNumber"}


async def test_a_cancel_reason_with_nul_or_bidi_characters_is_refused_and_the_booking_stands(
    gql: GraphQLClient,
) -> None:
    owner = await factories.patient_user()
    person = await factories.patient(owner)
    schedule = await factories.session(capacity=2)
    booked = await book(gql, owner.token, (await first_slot(schedule.id)).id, person.id)
    as_owner = gql.as_(owner.token)

    answers = [
        (await as_owner.data(CANCEL, {"input": {"bookingId": booked["id"], "reason": reason}}))[
            "cancelBooking"
        ]
        for reason in ("\u202e来再天改", "改" * 2000)
    ]
    # NUL never reaches a resolver: the edge refuses it for every string argument (tests/http).
    nul = await as_owner(CANCEL, {"input": {"bookingId": booked["id"], "reason": "改天\x00再来"}})

    assert answers == [{"__typename": "InvalidInputError", "field": "reason"}] * 2
    assert [e["extensions"]["code"] for e in nul["errors"]] == ["BAD_USER_INPUT"]
    assert (await Booking.get(id=int(booked["id"]))).status is BookingStatus.CONFIRMED
