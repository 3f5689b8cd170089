"""Administrators grant and remove staff roles, with audit, and never remove the last administrator."""

from __future__ import annotations

from models.accounts import Account, Role, StaffDepartment
from models.audit import AuditEntry
from tests import factories
from tests.fixtures.api import GraphQLClient

SET_ROLE = """
mutation($input: SetAccountRoleInput!) {
  setAccountRole(input: $input) { __typename ... on Account { role } ... on Error { message } }
}"""


def _role(account_id: int, role: str, *departments: int) -> dict[str, object]:
    return {
        "input": {
            "accountId": str(account_id),
            "role": role,
            "departmentIds": [str(d) for d in departments],
            "reason": "人员调整",
        }
    }


async def test_a_patient_becomes_a_registrar_and_back_with_audit_entries(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    clerk = await factories.patient_user()
    department = await factories.department()

    granted = await gql.as_(admin.token).data(SET_ROLE, _role(clerk.id, "REGISTRAR", department.id))
    served = await StaffDepartment.filter(account_id=clerk.id).values_list("department_id", flat=True)
    removed = await gql.as_(admin.token).data(SET_ROLE, _role(clerk.id, "PATIENT"))

    assert granted["setAccountRole"] == {"__typename": "Account", "role": "REGISTRAR"}
    assert served == [department.id]
    assert removed["setAccountRole"]["role"] == "PATIENT"
    assert await StaffDepartment.filter(account_id=clerk.id).count() == 0
    assert await AuditEntry.filter(action="account.role", target_id=str(clerk.id)).count() == 2


async def test_the_last_administrator_keeps_the_role(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()

    alone = await gql.as_(admin.token).data(SET_ROLE, _role(admin.id, "PATIENT"))
    second = await factories.admin_user()
    handed_over = await gql.as_(second.token).data(SET_ROLE, _role(admin.id, "PATIENT"))

    assert alone["setAccountRole"]["__typename"] == "NotAllowedError"
    assert handed_over["setAccountRole"]["role"] == "PATIENT"
    assert await Account.filter(role=Role.ADMIN).count() == 1


async def test_the_doctor_role_needs_a_doctor_profile(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    someone = await factories.patient_user()

    refused = await gql.as_(admin.token).data(SET_ROLE, _role(someone.id, "DOCTOR"))

    assert refused["setAccountRole"]["__typename"] == "InvalidInputError"
