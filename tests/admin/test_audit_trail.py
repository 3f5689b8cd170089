from __future__ import annotations

from tests import factories
from tests.fixtures.api import GraphQLClient

AUDIT = """
query($first: Int, $after: String, $action: String, $targetType: String) {
  auditEntries(first: $first, after: $after, action: $action, targetType: $targetType) {
    edges { node { action targetType targetId before after reason actor { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

WRITES = """
mutation {
  dept: createDepartment(input: {name: "眼科", code: "YK"}) { ... on Department { id } }
  type: createRegistrationType(input: {name: "普通号", fee: 500}) { ... on RegistrationType { id } }
}"""


async def test_every_admin_write_is_in_the_trail_with_who_what_before_and_after(gql: GraphQLClient) -> None:
    admin = await factories.admin_user(name="审计员")
    client = gql.as_(admin.token)
    created = await client.data(WRITES)
    dept_id = created["dept"]["id"]
    room = await client.data(
        'mutation($d: ID!) { createRoom(input: {name: "405诊室", departmentId: $d}) { ... on Room { id } } }',
        {"d": dept_id},
    )
    await client.data(
        'mutation($d: ID!) { createDoctor(input: {name: "吴刚", title: "副主任医师", departmentId: $d,'
        ' phone: "13900000010", password: "doctor12345"}) { __typename } }',
        {"d": dept_id},
    )
    await client.data(
        "mutation($id: ID!) { updateRegistrationType(input: {id: $id, fee: 600}) { __typename } }",
        {"id": created["type"]["id"]},
    )
    await client.data(
        "mutation($id: ID!) { archiveRoom(id: $id) { __typename } }", {"id": room["createRoom"]["id"]}
    )

    trail = (await client.data(AUDIT, {"first": 10}))["auditEntries"]

    assert [(e["node"]["action"], e["node"]["actor"]) for e in trail["edges"]] == [
        ("room.archive", {"name": "审计员"}),
        ("registration_type.update", {"name": "审计员"}),
        ("doctor.create", {"name": "审计员"}),
        ("room.create", {"name": "审计员"}),
        ("registration_type.create", {"name": "审计员"}),
        ("department.create", {"name": "审计员"}),
    ]
    fee_change = trail["edges"][1]["node"]
    assert (fee_change["before"]["fee"], fee_change["after"]["fee"]) == (500, 600)
    assert trail["edges"][-1]["node"]["before"] is None
    assert trail["edges"][-1]["node"]["after"]["code"] == "YK"


async def test_the_trail_filters_by_action_and_target_type_and_pages(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    client = gql.as_(admin.token)
    for code in ("A1", "A2", "A3"):
        await client.data(
            'mutation($c: String!) { createDepartment(input: {name: "科", code: $c}) { __typename } }',
            {"c": code},
        )
    await client.data(WRITES.replace("YK", "YK2"))

    departments = (await client.data(AUDIT, {"targetType": "department", "first": 2}))["auditEntries"]
    rest = await client.data(
        AUDIT, {"targetType": "department", "after": departments["pageInfo"]["endCursor"]}
    )
    types = (await client.data(AUDIT, {"action": "registration_type.create"}))["auditEntries"]

    assert [e["node"]["after"]["code"] for e in departments["edges"]] == ["YK2", "A3"]
    assert departments["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["after"]["code"] for e in rest["auditEntries"]["edges"]] == ["A2", "A1"]
    assert [e["node"]["targetType"] for e in types["edges"]] == ["registration_type"]


async def test_doctors_cannot_read_the_trail(gql: GraphQLClient) -> None:
    _, doctor = await factories.doctor()
    body = await gql.as_(doctor.token)(AUDIT, {})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
