"""Signed codes on the wall: unforgeable, bound to one place, readable by administrators only."""

from __future__ import annotations

import os

import pytest

from models.checkin_codes import InvalidCheckInCode, SignedCode, sign_code, verify_code
from tests import factories
from tests.fixtures.api import GraphQLClient

SECRET = "a-secret"


def test_a_code_names_its_place_and_survives_a_round_trip() -> None:
    code = sign_code("room", 7, secret=SECRET)

    assert code.startswith("GLM1.room.7.")
    assert verify_code(code, secret=SECRET) == SignedCode("room", 7)
    assert verify_code(f"  {code}\n", secret=SECRET, kind="room") == SignedCode("room", 7)


@pytest.mark.parametrize(
    "tampered",
    [
        sign_code("room", 7, secret=SECRET).replace(".7.", ".8."),
        sign_code("room", 7, secret=SECRET).replace("room", "department"),
        sign_code("room", 7, secret="another-secret"),
        sign_code("room", 7, secret=SECRET)[:-1],
        "GLM1.room.7",
        "GLM0.room.7.abc",
        "",
    ],
)
def test_a_changed_or_foreign_code_is_refused(tampered: str) -> None:
    with pytest.raises(InvalidCheckInCode):
        verify_code(tampered, secret=SECRET)


def test_a_code_of_another_kind_is_refused_when_a_kind_is_required() -> None:
    with pytest.raises(InvalidCheckInCode):
        verify_code(sign_code("marker", 3, secret=SECRET), secret=SECRET, kind="room")


async def test_an_administrator_reads_the_code_to_print_and_a_patient_may_not(gql: GraphQLClient) -> None:
    admin, patient = await factories.admin_user(), await factories.patient_user()
    query = "{ checkInCode(place: ROOM, id: 12) }"

    printed = await gql.as_(admin.token).data(query)
    refused = await gql.as_(patient.token)(query)

    assert verify_code(printed["checkInCode"], secret=os.environ["GUALEMA_SECRET_KEY"]) == SignedCode(
        "room", 12
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
