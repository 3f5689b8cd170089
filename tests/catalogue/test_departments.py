from __future__ import annotations

from typing import Any

from models.audit import AuditEntry
from tests import factories
from tests.fixtures.api import GraphQLClient

CREATE = """
mutation($input: CreateDepartmentInput!) {
  createDepartment(input: $input) {
    __typename
    ... on Department { id name code level building floor ticketPrefix parent { code } }
    ... on Error { message }
    ... on InvalidInputError { field }
    ... on DuplicateCodeError { errorCode: code departmentCode }
  }
}"""
UPDATE = """
mutation($input: UpdateDepartmentInput!) {
  updateDepartment(input: $input) {
    __typename
    ... on Department { id name code level parent { code } }
    ... on Error { message }
  }
}"""
ARCHIVE = """
mutation($id: ID!) {
  archiveDepartment(id: $id) {
    __typename
    ... on Department { archived }
    ... on DepartmentHasActiveDoctorsError { doctorCount message }
    ... on DepartmentHasActiveChildrenError { childCount }
  }
}"""
TREE = "{ departments { code children { code } } }"


async def _create(gql: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    result = await gql.as_(token).data(CREATE, {"input": fields})
    return dict(result["createDepartment"])


async def test_an_admin_builds_a_two_level_tree_that_everyone_can_browse(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    internal = await _create(gql, admin.token, name="内科", code="nk", building="门诊楼", floor="2F")
    digestive = await _create(gql, admin.token, name="消化内科", code="NK-XH", parentId=internal["id"])
    await _create(gql, admin.token, name="口腔科", code="KQ", sortOrder=-1)

    assert internal == {
        "__typename": "Department",
        "id": internal["id"],
        "name": "内科",
        "code": "NK",
        "level": 1,
        "building": "门诊楼",
        "floor": "2F",
        "ticketPrefix": "A",
        "parent": None,
    }
    assert (digestive["level"], digestive["parent"]) == (2, {"code": "NK"})
    anonymous = await gql.data(TREE)
    assert anonymous["departments"] == [
        {"code": "KQ", "children": []},
        {"code": "NK", "children": [{"code": "NK-XH"}]},
    ]
    one = await gql.data("query($id: ID!) { department(id: $id) { name } }", {"id": digestive["id"]})
    assert one == {"department": {"name": "消化内科"}}
    assert (await gql.data('{ department(id: "2147483647") { name } }')) == {"department": None}
    malformed = await gql('{ department(id: "nope") { name } }')
    assert [e["extensions"]["code"] for e in malformed["errors"]] == ["BAD_USER_INPUT"]


async def test_a_third_level_is_refused(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    top = await factories.department(code="NK")
    child = await factories.department(code="NK-XH", parent=top)

    result = await _create(gql, admin.token, name="胃镜室", code="NK-XH-W", parentId=str(child.id))

    assert result == {
        "__typename": "DepartmentDepthExceededError",
        "message": "a department may have at most two levels: the parent is itself a sub-department",
    }


async def test_a_department_with_children_cannot_move_under_another(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    internal = await factories.department(code="NK")
    await factories.department(code="NK-XH", parent=internal)
    surgery = await factories.department(code="WK")

    moved = await gql.as_(admin.token).data(
        UPDATE, {"input": {"id": str(internal.id), "parentId": str(surgery.id)}}
    )
    itself = await gql.as_(admin.token).data(
        UPDATE, {"input": {"id": str(surgery.id), "parentId": str(surgery.id)}}
    )

    assert moved["updateDepartment"]["__typename"] == "DepartmentDepthExceededError"
    assert itself["updateDepartment"]["__typename"] == "DepartmentDepthExceededError"


async def test_updating_changes_only_the_given_fields_and_null_parent_promotes(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    top = await factories.department(code="NK", name="内科")
    child = await factories.department(code="NK-XH", name="消化内科", parent=top)

    renamed = await gql.as_(admin.token).data(UPDATE, {"input": {"id": str(child.id), "name": "消化科"}})
    promoted = await gql.as_(admin.token).data(UPDATE, {"input": {"id": str(child.id), "parentId": None}})

    assert renamed["updateDepartment"] == {
        "__typename": "Department",
        "id": str(child.id),
        "name": "消化科",
        "code": "NK-XH",
        "level": 2,
        "parent": {"code": "NK"},
    }
    assert promoted["updateDepartment"]["level"] == 1
    entries = await AuditEntry.filter(action="department.update").order_by("id").values("before", "after")
    assert [(e["before"]["name"], e["after"]["name"]) for e in entries] == [
        ("消化内科", "消化科"),
        ("消化科", "消化科"),
    ]
    assert (entries[1]["before"]["parent_id"], entries[1]["after"]["parent_id"]) == (top.id, None)


async def test_codes_are_unique_and_inputs_are_checked_by_field(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    await factories.department(code="NK")

    duplicate = await _create(gql, admin.token, name="内科二", code="nk")
    bad_code = await _create(gql, admin.token, name="内科二", code="内科")
    no_name = await _create(gql, admin.token, name="  ", code="NK2")
    no_parent = await _create(gql, admin.token, name="x", code="X1", parentId="99999")

    assert duplicate == {
        "__typename": "DuplicateCodeError",
        "message": "another department already uses the code NK",
        "errorCode": "DUPLICATE_CODE",
        "departmentCode": "NK",
    }
    assert (bad_code["__typename"], bad_code["field"]) == ("InvalidInputError", "code")
    assert (no_name["__typename"], no_name["field"]) == ("InvalidInputError", "name")
    assert (no_parent["__typename"], no_parent["field"]) == ("InvalidInputError", "parentId")


async def test_archiving_needs_an_empty_department(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    top = await factories.department(code="NK")
    child = await factories.department(code="NK-XH", parent=top)
    doctor, _ = await factories.doctor(child)
    client = gql.as_(admin.token)

    with_children = await client.data(ARCHIVE, {"id": str(top.id)})
    with_doctor = await client.data(ARCHIVE, {"id": str(child.id)})
    doctor.archived = True
    await doctor.save()
    emptied = await client.data(ARCHIVE, {"id": str(child.id)})

    assert with_children["archiveDepartment"] == {
        "__typename": "DepartmentHasActiveChildrenError",
        "childCount": 1,
    }
    assert with_doctor["archiveDepartment"] == {
        "__typename": "DepartmentHasActiveDoctorsError",
        "doctorCount": 1,
        "message": "the department has 1 active doctor(s); archive or move them first",
    }
    assert emptied["archiveDepartment"] == {"__typename": "Department", "archived": True}
    assert (await gql.data(TREE))["departments"] == [{"code": "NK", "children": []}]
    archived = await gql.data("{ departments { children(includeArchived: true) { code } } }")
    assert archived["departments"] == [{"children": [{"code": "NK-XH"}]}]


async def test_only_admins_write_the_catalogue(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    _, doctor = await factories.doctor()

    for token in (None, patient.token, doctor.token):
        body = await gql.as_(token)(CREATE, {"input": {"name": "内科", "code": "NK"}})
        assert body["data"] is None
        assert body["errors"][0]["message"] == "only an administrator may do this"


async def test_a_sub_department_inherits_building_floor_and_ticket_prefix_unless_told(
    gql: GraphQLClient,
) -> None:
    admin = await factories.admin_user()
    parent = await _create(
        gql, admin.token, name="内科", code="NK", building="门诊楼", floor="3F", ticketPrefix="N"
    )

    inherited = await _create(gql, admin.token, name="消化内科", code="XHNK", parentId=parent["id"])
    own = await _create(gql, admin.token, name="心内科", code="XNK", parentId=parent["id"], floor="4F")

    assert (inherited["building"], inherited["floor"], inherited["ticketPrefix"]) == ("门诊楼", "3F", "N")
    assert (own["building"], own["floor"], own["ticketPrefix"]) == ("门诊楼", "4F", "N")
