"""Administrators build and edit the map piece by piece; the next route sees each change."""

from __future__ import annotations

from typing import Any

from gualema.settings import get_settings
from models.navigation_markers import sign_marker
from tests import factories
from tests.fixtures.api import GraphQLClient

CREATE_BUILDING = """mutation($i: BuildingInput!) { createBuilding(input: $i) {
  __typename ... on Building { id code name } ... on Error { message }
  ... on InvalidInputError { field } } }"""
UPDATE_BUILDING = """mutation($id: ID!, $i: BuildingInput!) { updateBuilding(id: $id, input: $i) {
  __typename ... on Building { name } } }"""
CREATE_FLOOR = """mutation($i: FloorInput!) { createFloor(input: $i) {
  __typename ... on Floor { id name level } ... on Error { message } } }"""
CREATE_POINT = """mutation($i: MapPointInput!) { createMapPoint(input: $i) {
  __typename ... on MapPoint { id key markerId } ... on Error { message }
  ... on InvalidInputError { field } } }"""
CREATE_EDGE = """mutation($i: MapEdgeInput!) { createMapEdge(input: $i) {
  __typename ... on MapEdge { id lengthM lift } ... on Error { message }
  ... on InvalidInputError { field } } }"""
UPDATE_EDGE = """mutation($id: ID!, $i: MapEdgeInput!) { updateMapEdge(id: $id, input: $i) {
  __typename ... on MapEdge { lengthM } } }"""
DELETE = """mutation($id: ID!) {
  b: deleteBuilding(id: $id) { __typename ... on Error { message } }
}"""
DELETE_POINT = "mutation($id: ID!) { deleteMapPoint(id: $id) { __typename ... on DeletedMapItem { id } } }"
DELETE_FLOOR = "mutation($id: ID!) { deleteFloor(id: $id) { __typename ... on Error { message } } }"
ROUTE = """query($from: String!, $room: ID!) { route(from: $from, to: {roomId: $room}) {
  __typename ... on Route { distanceM } ... on NoRouteError { reason } } }"""


async def test_an_administrator_builds_a_map_by_hand_and_a_route_follows_each_edit(
    gql: GraphQLClient,
) -> None:
    admin = gql.as_((await factories.admin_user()).token)
    room = await factories.room()

    async def ok(query: str, variables: dict[str, Any], name: str) -> dict[str, Any]:
        result: dict[str, Any] = (await admin.data(query, variables))[name]
        assert "message" not in result, result
        return result

    building = await ok(CREATE_BUILDING, {"i": {"code": "MZ", "name": "门诊"}}, "createBuilding")
    assert (
        await ok(
            UPDATE_BUILDING, {"id": building["id"], "i": {"code": "MZ", "name": "门诊楼"}}, "updateBuilding"
        )
    )["name"] == "门诊楼"
    one = await ok(
        CREATE_FLOOR, {"i": {"buildingId": building["id"], "name": "1F", "level": 1}}, "createFloor"
    )
    two = await ok(
        CREATE_FLOOR, {"i": {"buildingId": building["id"], "name": "2F", "level": 2}}, "createFloor"
    )

    async def point(floor: dict[str, Any], key: str, kind: str, x: float, y: float, **extra: Any) -> str:
        created = await ok(
            CREATE_POINT,
            {"i": {"floorId": floor["id"], "key": key, "kind": kind, "x": x, "y": y, **extra}},
            "createMapPoint",
        )
        return str(created["id"])

    door = await point(one, "door", "ENTRANCE", 0, 0, markerId="mz-door")  # stored uppercase
    lift1 = await point(one, "lift1", "LIFT", 30, 40)
    lift2 = await point(two, "lift2", "LIFT", 30, 40)
    clinic = await point(two, "clinic", "ROOM", 30, 50, roomId=str(room.id))
    walk = await ok(CREATE_EDGE, {"i": {"startId": door, "endId": lift1}}, "createMapEdge")
    assert walk["lengthM"] == 50.0  # the straight distance
    await ok(
        CREATE_EDGE, {"i": {"startId": lift1, "endId": lift2, "lengthM": 4, "lift": True}}, "createMapEdge"
    )

    code = sign_marker(get_settings().secret_key.get_secret_value(), "MZ-DOOR").code
    before = (await gql.data(ROUTE, {"from": code, "room": str(room.id)}))["route"]
    assert before == {"__typename": "NoRouteError", "reason": "DISCONNECTED"}  # no edge to the clinic yet

    await ok(CREATE_EDGE, {"i": {"startId": lift2, "endId": clinic}}, "createMapEdge")
    routed = (await gql.data(ROUTE, {"from": code, "room": str(room.id)}))["route"]
    assert routed == {"__typename": "Route", "distanceM": 64.0}

    await ok(
        UPDATE_EDGE,
        {"id": walk["id"], "i": {"startId": door, "endId": lift1, "lengthM": 70}},
        "updateMapEdge",
    )
    assert (await gql.data(ROUTE, {"from": code, "room": str(room.id)}))["route"]["distanceM"] == 84.0

    assert (await admin.data(DELETE_POINT, {"id": clinic}))["deleteMapPoint"] == {
        "__typename": "DeletedMapItem",
        "id": clinic,
    }
    gone = (await gql.data(ROUTE, {"from": code, "room": str(room.id)}))["route"]
    assert gone == {"__typename": "NoRouteError", "reason": "TARGET_NOT_ON_MAP"}


async def test_edits_that_break_rules_are_typed_errors(gql: GraphQLClient) -> None:
    admin = gql.as_((await factories.admin_user()).token)
    building = (await admin.data(CREATE_BUILDING, {"i": {"code": "MZ", "name": "门诊楼"}}))["createBuilding"]
    taken = (await admin.data(CREATE_BUILDING, {"i": {"code": "MZ", "name": "again"}}))["createBuilding"]
    assert taken == {
        "__typename": "InvalidInputError",
        "message": "another building has this code",
        "field": "code",
    }
    floor = (await admin.data(CREATE_FLOOR, {"i": {"buildingId": building["id"], "name": "1F", "level": 1}}))[
        "createFloor"
    ]
    a = (
        await admin.data(
            CREATE_POINT,
            {
                "i": {
                    "floorId": floor["id"],
                    "key": "a",
                    "kind": "ENTRANCE",
                    "x": 0,
                    "y": 0,
                    "markerId": "M-1",
                }
            },
        )
    )["createMapPoint"]
    same_marker = (
        await admin.data(
            CREATE_POINT,
            {
                "i": {
                    "floorId": floor["id"],
                    "key": "b",
                    "kind": "JUNCTION",
                    "x": 1,
                    "y": 0,
                    "markerId": "M-1",
                }
            },
        )
    )["createMapPoint"]
    assert same_marker["__typename"] == "InvalidInputError"
    assert same_marker["message"] == "the key or the marker id is already used by another point"
    bad_marker = (
        await admin.data(
            CREATE_POINT,
            {
                "i": {
                    "floorId": floor["id"],
                    "key": "c",
                    "kind": "JUNCTION",
                    "x": 1,
                    "y": 0,
                    "markerId": "no spaces",
                }
            },
        )
    )["createMapPoint"]
    assert bad_marker["field"] == "markerId"
    loop = (await admin.data(CREATE_EDGE, {"i": {"startId": a["id"], "endId": a["id"]}}))["createMapEdge"]
    assert loop == {
        "__typename": "InvalidInputError",
        "message": "an edge joins two different points",
        "field": "endId",
    }
    missing = (await admin.data(CREATE_EDGE, {"i": {"startId": a["id"], "endId": "999999"}}))["createMapEdge"]
    assert missing == {"__typename": "NotFoundError", "message": "end point not found"}

    in_use = (await admin.data(DELETE, {"id": building["id"]}))["b"]
    assert in_use == {
        "__typename": "MapInUseError",
        "message": "the building still has floors; delete them first",
    }
    floor_in_use = (await admin.data(DELETE_FLOOR, {"id": floor["id"]}))["deleteFloor"]
    assert floor_in_use["__typename"] == "MapInUseError"
