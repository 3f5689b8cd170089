from __future__ import annotations

from tests import factories
from tests.fixtures.api import GraphQLClient

CREATE_ROOM = """
mutation($input: CreateRoomInput!) {
  createRoom(input: $input) {
    __typename
    ... on Room { name building floor department { code } }
    ... on InvalidInputError { field }
  }
}"""
ARCHIVE_ROOM = """
mutation($id: ID!) {
  archiveRoom(id: $id) {
    __typename ... on RoomHasActiveDoctorsError { doctorCount } ... on Room { archived }
  }
}"""
CREATE_TYPE = """
mutation($input: CreateRegistrationTypeInput!) {
  createRegistrationType(input: $input) {
    __typename
    ... on RegistrationType { id name fee }
    ... on InvalidInputError { field message }
    ... on DuplicateNameError { name }
  }
}"""
UPDATE_TYPE = """
mutation($input: UpdateRegistrationTypeInput!) {
  updateRegistrationType(input: $input) { __typename ... on RegistrationType { name fee } }
}"""


async def test_a_room_is_where_its_department_is_unless_told_otherwise(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    dept = await factories.department(code="KQ", building="门诊楼", floor="4F")
    client = gql.as_(admin.token)

    same = await client.data(CREATE_ROOM, {"input": {"name": "401诊室", "departmentId": str(dept.id)}})
    elsewhere = await client.data(
        CREATE_ROOM,
        {"input": {"name": "综合楼201", "departmentId": str(dept.id), "building": "综合楼", "floor": "2F"}},
    )
    nowhere = await client.data(CREATE_ROOM, {"input": {"name": "x", "departmentId": "424242"}})

    assert same["createRoom"] == {
        "__typename": "Room",
        "name": "401诊室",
        "building": "门诊楼",
        "floor": "4F",
        "department": {"code": "KQ"},
    }
    assert (elsewhere["createRoom"]["building"], elsewhere["createRoom"]["floor"]) == ("综合楼", "2F")
    assert nowhere["createRoom"] == {"__typename": "InvalidInputError", "field": "departmentId"}
    listed = await gql.data("query($d: ID) { rooms(departmentId: $d) { name } }", {"d": str(dept.id)})
    assert listed == {"rooms": [{"name": "401诊室"}, {"name": "综合楼201"}]}


async def test_a_doctors_default_room_cannot_be_archived(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    doctor, _ = await factories.doctor()
    spare = await factories.room()

    used = await gql.as_(admin.token).data(ARCHIVE_ROOM, {"id": str(doctor.room_id)})
    unused = await gql.as_(admin.token).data(ARCHIVE_ROOM, {"id": str(spare.id)})

    assert used["archiveRoom"] == {"__typename": "RoomHasActiveDoctorsError", "doctorCount": 1}
    assert unused["archiveRoom"] == {"__typename": "Room", "archived": True}


async def test_registration_types_carry_a_fee_in_fen(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    client = gql.as_(admin.token)

    general = (await client.data(CREATE_TYPE, {"input": {"name": "普通号", "fee": 500}}))[
        "createRegistrationType"
    ]
    expert = (await client.data(CREATE_TYPE, {"input": {"name": "专家号", "fee": 2000}}))[
        "createRegistrationType"
    ]
    again = await client.data(CREATE_TYPE, {"input": {"name": "普通号", "fee": 800}})
    negative = await client.data(CREATE_TYPE, {"input": {"name": "倒贴号", "fee": -1}})
    raised = await client.data(UPDATE_TYPE, {"input": {"id": expert["id"], "fee": 2500}})

    assert (general["name"], general["fee"]) == ("普通号", 500)
    assert again["createRegistrationType"] == {"__typename": "DuplicateNameError", "name": "普通号"}
    assert negative["createRegistrationType"] == {
        "__typename": "InvalidInputError",
        "field": "fee",
        "message": "a fee is in fen, between 0 and 1000000",
    }
    assert raised["updateRegistrationType"] == {
        "__typename": "RegistrationType",
        "name": "专家号",
        "fee": 2500,
    }
    archived = await client.data(
        "mutation($id: ID!) { archiveRegistrationType(id: $id) { __typename } }", {"id": general["id"]}
    )
    assert archived["archiveRegistrationType"]["__typename"] == "RegistrationType"
    assert (await gql.data("{ registrationTypes { name fee } }")) == {
        "registrationTypes": [{"name": "专家号", "fee": 2500}]
    }


async def test_an_update_of_something_missing_is_not_found(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    result = await gql.as_(admin.token).data(
        'mutation { updateRoom(input: {id: "777", name: "x"}) { __typename } '
        'archiveDoctor(id: "777") { __typename } updateDepartment(input: {id: "abc"}) { __typename } }'
    )
    assert result == {
        "updateRoom": {"__typename": "NotFoundError"},
        "archiveDoctor": {"__typename": "NotFoundError"},
        "updateDepartment": {"__typename": "InvalidInputError"},
    }
