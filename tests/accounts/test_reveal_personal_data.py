from __future__ import annotations

from models.audit import AuditEntry
from tests import factories
from tests.fixtures.api import GraphQLClient

REVEAL_ID = """
mutation($id: ID!, $reason: String!) {
  revealPatientIdNumber(patientId: $id, reason: $reason) {
    __typename
    ... on RevealedIdNumber { idNumber }
    ... on InvalidInputError { field }
  }
}"""
REVEAL_PHONE = """
mutation($id: ID!, $reason: String!) {
  revealAccountPhone(accountId: $id, reason: $reason) { __typename ... on RevealedPhone { phone } }
}"""


async def test_an_admin_reveals_an_id_number_with_a_reason_and_it_is_audited(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    owner = await factories.patient_user()
    number = factories.resident_id()
    patient = await factories.patient(owner, id_number=number)

    revealed = await gql.as_(admin.token).data(REVEAL_ID, {"id": str(patient.id), "reason": "医保核对"})

    assert revealed["revealPatientIdNumber"] == {"__typename": "RevealedIdNumber", "idNumber": number}
    entry = await AuditEntry.get(action="patient.reveal_id_number")
    assert (entry.actor_id, entry.target_id, entry.reason) == (admin.id, str(patient.id), "医保核对")
    assert number not in f"{entry.before}{entry.after}{entry.reason}"


async def test_a_reveal_without_a_reason_is_refused(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    patient = await factories.patient(await factories.patient_user())

    result = await gql.as_(admin.token).data(REVEAL_ID, {"id": str(patient.id), "reason": "  "})

    assert result["revealPatientIdNumber"] == {"__typename": "InvalidInputError", "field": "reason"}
    assert await AuditEntry.all().count() == 0


async def test_patients_and_doctors_cannot_reveal_numbers(gql: GraphQLClient) -> None:
    owner = await factories.patient_user()
    patient = await factories.patient(owner)
    _, doctor = await factories.doctor()

    for token in (owner.token, doctor.token):
        body = await gql.as_(token)(REVEAL_ID, {"id": str(patient.id), "reason": "curious"})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["data"] is None


async def test_an_admin_reveals_a_phone_number_and_it_is_audited(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    owner = await factories.patient_user()

    result = await gql.as_(admin.token).data(REVEAL_PHONE, {"id": str(owner.id), "reason": "回访电话"})

    assert result["revealAccountPhone"] == {"__typename": "RevealedPhone", "phone": owner.account.phone}
    assert await AuditEntry.filter(action="account.reveal_phone", target_id=str(owner.id)).count() == 1
