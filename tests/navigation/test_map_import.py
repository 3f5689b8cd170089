"""importMap / exportMap: one JSON document, validated, all or nothing."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from models.navigation import Building, Floor, MapEdge, MapPoint
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.navigation.maps import clinic_document

IMPORT = """
mutation($document: JSON!) {
  importMap(document: $document) {
    __typename
    ... on MapImported { buildings floors points edges }
    ... on MapDocumentInvalidError { message problems { path code message } }
  }
}"""

EXPORT = "{ exportMap }"


async def _counts() -> tuple[int, int, int, int]:
    return (
        await Building.all().count(),
        await Floor.all().count(),
        await MapPoint.all().count(),
        await MapEdge.all().count(),
    )


@pytest.fixture
async def admin() -> factories.Actor:
    return await factories.admin_user()


@pytest.fixture
async def room_id() -> int:
    return (await factories.room()).id


async def test_a_valid_document_is_imported_and_exported_back_identically(
    gql: GraphQLClient, admin: factories.Actor, room_id: int
) -> None:
    document = clinic_document(room_id=room_id)
    imported = await gql.as_(admin.token).data(IMPORT, {"document": document})
    assert imported["importMap"] == {
        "__typename": "MapImported",
        "buildings": 1,
        "floors": 2,
        "points": 11,
        "edges": 11,
    }

    exported = (await gql.as_(admin.token).data(EXPORT))["exportMap"]
    # Omitted lengths were computed from the coordinates, omitted flags defaulted.
    assert exported["edges"][0] == {
        "from": "E",
        "to": "J1",
        "lengthM": 20.0,
        "stairs": False,
        "lift": False,
        "escalator": False,
        "oneWay": False,
        "stepFree": True,
        "closed": False,
    }
    assert exported["points"][10]["roomId"] == room_id

    again = await gql.as_(admin.token).data(IMPORT, {"document": exported})
    assert again["importMap"]["__typename"] == "MapImported"
    assert (await gql.as_(admin.token).data(EXPORT))["exportMap"] == exported


def _broken(change: str, room_id: int) -> dict[str, Any]:
    document = clinic_document(room_id=room_id)
    points = {p["key"]: p for p in document["points"]}
    if change == "unknown point in an edge":
        document["edges"].append({"from": "J2", "to": "NOWHERE"})
    elif change == "disconnected room":
        document["edges"] = [e for e in document["edges"] if e["to"] != "R"]
    elif change == "duplicate QR id":
        points["L2"]["markerId"] = "A-1F-LIFT"
    elif change == "unknown room":
        points["R"]["roomId"] = room_id + 1000
    elif change == "duplicate point":
        document["points"].append(copy.deepcopy(points["J1"]))
    elif change == "unknown floor":
        points["K1"]["floor"] = "9F"
    elif change == "lift edge between floors without a length":
        del document["edges"][5]["lengthM"]
    elif change == "wrong kind of value":
        points["J2"]["x"] = "forty"
    return document


CASES = {
    "unknown point in an edge": [
        ("edges[11].to", "UNKNOWN_POINT", "no point with key 'NOWHERE' in the document")
    ],
    "disconnected room": [
        ("points[10]", "DISCONNECTED_ROOM", "room point 'R' cannot be reached from any entrance")
    ],
    "duplicate QR id": [
        ("points[6].markerId", "DUPLICATE_MARKER", "QR marker 'A-1F-LIFT' is already placed at point 'L1'")
    ],
    "unknown room": [("points[10].roomId", "UNKNOWN_ROOM", "there is no room {missing}")],
    "duplicate point": [("points[11].key", "DUPLICATE_POINT", "point key 'J1' appears twice")],
    "unknown floor": [("points[7].floor", "UNKNOWN_FLOOR", "building 'A' has no floor '9F'")],
    "lift edge between floors without a length": [
        ("edges[5].lengthM", "INVALID_LENGTH", "lengthM is required for an edge between floors")
    ],
    "wrong kind of value": [("points[2].x", "INVALID_VALUE", "x must be a number")],
}


@pytest.mark.parametrize("change", list(CASES))
async def test_each_kind_of_problem_is_reported_precisely_and_leaves_the_map_unchanged(
    gql: GraphQLClient, admin: factories.Actor, room_id: int, change: str
) -> None:
    await gql.as_(admin.token).data(IMPORT, {"document": clinic_document(room_id=room_id)})
    before = (await gql.as_(admin.token).data(EXPORT))["exportMap"]
    counts = await _counts()

    result = (await gql.as_(admin.token).data(IMPORT, {"document": _broken(change, room_id)}))["importMap"]

    expected = [
        {"path": path, "code": code, "message": message.format(missing=room_id + 1000)}
        for path, code, message in CASES[change]
    ]
    assert result["__typename"] == "MapDocumentInvalidError"
    assert result["problems"] == expected
    assert result["message"] == "the map document has 1 problem(s); nothing was imported"
    assert await _counts() == counts
    assert (await gql.as_(admin.token).data(EXPORT))["exportMap"] == before


async def test_several_problems_are_listed_together(gql: GraphQLClient, admin: factories.Actor) -> None:
    document = clinic_document()
    document["points"][4]["markerId"] = "A-2F-R201"  # the room's marker, given to the lift first
    document["points"][1]["markerId"] = "bad id"
    document["edges"].append({"from": "J2", "to": "J2"})
    document["edges"].append({"from": "J2", "to": "K1", "lengthM": 5, "lift": True, "stairs": True})

    result = (await gql.as_(admin.token).data(IMPORT, {"document": document}))["importMap"]

    assert [(p["path"], p["code"]) for p in result["problems"]] == [
        ("points[1].markerId", "INVALID_MARKER"),
        ("points[10].markerId", "DUPLICATE_MARKER"),
        ("edges[11]", "SELF_LOOP"),
        ("edges[12]", "CONFLICTING_FLAGS"),
        ("edges[12]", "INVALID_LIFT_EDGE"),
    ]
    assert await _counts() == (0, 0, 0, 0)


async def test_a_document_that_is_not_an_object_or_has_no_entrance_is_refused(
    gql: GraphQLClient, admin: factories.Actor
) -> None:
    not_object = (await gql.as_(admin.token).data(IMPORT, {"document": [1, 2]}))["importMap"]
    assert not_object["problems"] == [
        {"path": "", "code": "INVALID_DOCUMENT", "message": "the document must be a JSON object"}
    ]
    document = clinic_document()
    document["points"][0]["kind"] = "JUNCTION"
    no_entrance = (await gql.as_(admin.token).data(IMPORT, {"document": document}))["importMap"]
    assert no_entrance["problems"] == [
        {"path": "points", "code": "NO_ENTRANCE", "message": "the map needs at least one ENTRANCE point"}
    ]


async def test_only_an_administrator_imports_or_exports(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    refused = await gql.as_(patient.token)(IMPORT, {"document": clinic_document()})
    assert refused["errors"][0]["message"] == "only an administrator may do this"
    assert (await gql.as_(patient.token)(EXPORT))["errors"][0][
        "message"
    ] == "only an administrator may do this"


async def test_two_imports_at_once_leave_exactly_one_whole_map(
    gql: GraphQLClient, admin: factories.Actor, room_id: int
) -> None:
    first, second = clinic_document(room_id=room_id), clinic_document()
    second["points"][0]["name"] = "北门"

    results = await asyncio.gather(
        gql.as_(admin.token).data(IMPORT, {"document": first}),
        gql.as_(admin.token).data(IMPORT, {"document": second}),
    )

    assert [r["importMap"]["__typename"] for r in results] == ["MapImported", "MapImported"]
    assert await _counts() == (1, 2, 11, 11)
    exported = (await gql.as_(admin.token).data(EXPORT))["exportMap"]
    assert exported["points"][0]["name"] in {"E", "北门"}
