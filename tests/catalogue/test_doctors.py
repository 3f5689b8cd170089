from __future__ import annotations

from typing import Any

from models.accounts import Account, Role
from models.audit import AuditEntry
from tests import factories
from tests.fixtures.api import GraphQLClient

CREATE = """
mutation($input: CreateDoctorInput!) {
  createDoctor(input: $input) {
    __typename
    ... on Doctor { id name title department { code } room { name } account { phone role } }
    ... on InvalidInputError { field message }
    ... on Error { message }
  }
}"""
UPDATE = """
mutation($input: UpdateDoctorInput!) {
  updateDoctor(input: $input) {
    __typename
    ... on Doctor { name title department { code } room { name } }
    ... on InvalidInputError { field }
  }
}"""
LOGIN = """
mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) {
    __typename
    ... on AuthPayload { accessToken account { role } }
  }
}"""
ME = "{ me { name role doctor { name title department { name } room { name } } } }"


async def _create(gql: GraphQLClient, token: str, **overrides: Any) -> dict[str, Any]:
    values = {"name": "张建国", "title": "主任医师", "phone": "13900000001", "password": "doctor12345"}
    values.update(overrides)
    return dict((await gql.as_(token).data(CREATE, {"input": values}))["createDoctor"])


async def test_creating_a_doctor_creates_a_login_that_sees_its_own_profile(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    dept = await factories.department(code="NK-XH", name="消化内科")
    room = await factories.room(dept, name="201诊室")

    created = await _create(gql, admin.token, departmentId=str(dept.id), roomId=str(room.id))

    assert created == {
        "__typename": "Doctor",
        "id": created["id"],
        "name": "张建国",
        "title": "主任医师",
        "department": {"code": "NK-XH"},
        "room": {"name": "201诊室"},
        "account": {"phone": "139****0001", "role": "DOCTOR"},
    }
    login = (await gql.data(LOGIN, {"phone": "13900000001", "password": "doctor12345"}))["login"]
    assert login["account"] == {"role": "DOCTOR"}
    me = await gql.as_(login["accessToken"]).data(ME)
    assert me["me"] == {
        "name": "张建国",
        "role": "DOCTOR",
        "doctor": {
            "name": "张建国",
            "title": "主任医师",
            "department": {"name": "消化内科"},
            "room": {"name": "201诊室"},
        },
    }
    entry = await AuditEntry.get(action="doctor.create")
    assert entry.actor_id == admin.id
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["phone"] == "139****0001"
    assert "password" not in str(entry.after)
    assert "argon2" not in str(entry.after)


async def test_a_taken_phone_and_a_room_of_another_department_are_refused(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    taken = await factories.patient_user()
    dept = await factories.department(code="NK")
    foreign_room = await factories.room(await factories.department(code="KQ"))

    phone_taken = await _create(gql, admin.token, departmentId=str(dept.id), phone=taken.account.phone)
    wrong_room = await _create(gql, admin.token, departmentId=str(dept.id), roomId=str(foreign_room.id))
    weak = await _create(gql, admin.token, departmentId=str(dept.id), password="123")

    assert phone_taken == {
        "__typename": "PhoneTakenError",
        "message": "an account with this phone number exists",
    }
    assert wrong_room == {
        "__typename": "InvalidInputError",
        "field": "roomId",
        "message": "the room belongs to another department",
    }
    assert (weak["__typename"], weak["field"]) == ("InvalidInputError", "password")
    assert await Account.filter(role=Role.DOCTOR).count() == 0


async def test_a_sub_department_doctor_may_sit_in_a_room_of_the_parent(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    top = await factories.department(code="NK")
    child = await factories.department(code="NK-XH", parent=top)
    shared_room = await factories.room(top, name="205诊室")

    created = await _create(gql, admin.token, departmentId=str(child.id), roomId=str(shared_room.id))

    assert created["room"] == {"name": "205诊室"}


async def test_moving_a_doctor_checks_the_room_against_the_new_department(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    doctor, _ = await factories.doctor(await factories.department(code="NK"))
    dentistry = await factories.department(code="KQ")
    dental_room = await factories.room(dentistry, name="401诊室")
    client = gql.as_(admin.token)

    keeps_old_room = await client.data(
        UPDATE, {"input": {"id": str(doctor.id), "departmentId": str(dentistry.id)}}
    )
    moved = await client.data(
        UPDATE,
        {"input": {"id": str(doctor.id), "departmentId": str(dentistry.id), "roomId": str(dental_room.id)}},
    )
    no_room = await client.data(
        UPDATE, {"input": {"id": str(doctor.id), "roomId": None, "title": "副主任医师"}}
    )

    assert keeps_old_room["updateDoctor"] == {"__typename": "InvalidInputError", "field": "roomId"}
    assert moved["updateDoctor"]["department"] == {"code": "KQ"}
    assert no_room["updateDoctor"] == {
        "__typename": "Doctor",
        "name": "李医生",
        "title": "副主任医师",
        "department": {"code": "KQ"},
        "room": None,
    }


async def test_an_archived_doctor_leaves_the_lists_and_cannot_log_in(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    dept = await factories.department(code="NK")
    doctor, login = await factories.doctor(dept)

    archived = await gql.as_(admin.token).data(
        "mutation($id: ID!) { archiveDoctor(id: $id) { ... on Doctor { archived } } }", {"id": str(doctor.id)}
    )

    assert archived == {"archiveDoctor": {"archived": True}}
    assert (await gql.data("{ doctors { name } }")) == {"doctors": []}
    refused = await gql.data(LOGIN, {"phone": login.account.phone, "password": factories.PASSWORD})
    assert refused["login"]["__typename"] == "AccountDisabledError"


async def test_doctors_of_a_department_include_its_sub_departments(gql: GraphQLClient) -> None:
    top = await factories.department(code="NK")
    child = await factories.department(code="NK-XH", parent=top)
    other = await factories.department(code="KQ")
    await factories.doctor(top, name="陈明")
    await factories.doctor(child, name="张建国")
    await factories.doctor(other, name="黄伟")

    family = await gql.data("query($d: ID) { doctors(departmentId: $d) { name } }", {"d": str(top.id)})
    only_child = await gql.data("query($d: ID) { doctors(departmentId: $d) { name } }", {"d": str(child.id)})

    assert sorted(d["name"] for d in family["doctors"]) == ["张建国", "陈明"]
    assert only_child == {"doctors": [{"name": "张建国"}]}


async def test_a_doctors_login_is_visible_to_admins_only(gql: GraphQLClient) -> None:
    doctor, _ = await factories.doctor()
    patient = await factories.patient_user()

    body = await gql.as_(patient.token)(
        "query($id: ID!) { doctor(id: $id) { name account { phone } } }", {"id": str(doctor.id)}
    )

    assert body["errors"][0]["message"] == "only an administrator may do this"
