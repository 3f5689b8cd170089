from __future__ import annotations

import asyncio

from models.catalogue import Department, Doctor
from tests import factories
from tests.fixtures.api import GraphQLClient

ARCHIVE = "mutation($id: ID!) { archiveDepartment(id: $id) { __typename } }"
CREATE_DOCTOR = """
mutation($input: CreateDoctorInput!) { createDoctor(input: $input) { __typename } }"""
MOVE = (
    "mutation($id: ID!, $parent: ID) { updateDepartment(input: {id: $id, parentId: $parent}) { __typename } }"
)


async def test_archiving_a_department_races_a_new_doctor_and_one_of_them_loses(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    client = gql.as_(admin.token)
    for round_number in range(6):
        dept = await factories.department()
        doctor_input = {
            "name": "新医生",
            "title": "住院医师",
            "departmentId": str(dept.id),
            "phone": f"1360000{round_number:04d}",
            "password": "doctor12345",
        }

        archived, created = await asyncio.gather(
            client.data(ARCHIVE, {"id": str(dept.id)}), client.data(CREATE_DOCTOR, {"input": doctor_input})
        )

        outcome = (archived["archiveDepartment"]["__typename"], created["createDoctor"]["__typename"])
        assert outcome in {
            ("Department", "InvalidInputError"),  # archived first: no doctor may join
            ("DepartmentHasActiveDoctorsError", "Doctor"),  # the doctor came first
        }
        row = await Department.get(id=dept.id)
        doctors = await Doctor.filter(department_id=dept.id, archived=False).count()
        assert not (row.archived and doctors), "an archived department with an active doctor"


async def test_two_moves_cannot_build_a_third_level(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    client = gql.as_(admin.token)
    for _ in range(6):
        a, b, c = [await factories.department() for _ in range(3)]

        # a under b while b goes under c: both alone are fine, together they make a -> b -> c.
        await asyncio.gather(
            client.data(MOVE, {"id": str(a.id), "parent": str(b.id)}),
            client.data(MOVE, {"id": str(b.id), "parent": str(c.id)}),
        )

        found = await Department.filter(id__in=[a.id, b.id, c.id])
        rows = {row.id: row.parent_id for row in found}
        for parent_id in rows.values():
            assert parent_id is None or rows.get(parent_id) is None, rows
