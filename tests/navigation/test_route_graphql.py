"""route and myNextVisitRoute through /graphql, on a map imported by an administrator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gualema.settings import get_settings
from models.booking import Booking, BookingStatus
from models.catalogue import Department, Room
from models.checkin_codes import sign_code
from models.clock import utcnow
from models.navigation_markers import sign_marker
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.navigation.maps import clinic_document

ROUTE = """
query($from: String!, $to: RouteTarget!, $accessible: Boolean!) {
  route(from: $from, to: $to, accessible: $accessible) {
    __typename
    ... on Route {
      distanceM walkingSeconds floorsCrossed accessible
      steps { action instructionZh instructionEn distanceM floorName fromIndex toIndex }
      points { key name kind buildingName floorName level x y }
      destination { key }
    }
    ... on NoRouteError { reason message }
    ... on Error { message }
  }
}"""

NEXT_VISIT = """
query($code: String!) {
  myNextVisitRoute(markerCode: $code) {
    __typename
    ... on Route { distanceM destination { key name } steps { instructionZh } }
    ... on Error { message }
  }
}"""

IMPORT = "mutation($d: JSON!) { importMap(document: $d) { __typename } }"
EDGES = "{ mapEdges { id startId endId } }"
CLOSE = (
    "mutation($id: ID!) { setMapEdgeClosed(id: $id, closed: true) { __typename ... on MapEdge { closed } } }"
)


def code(marker_id: str) -> str:
    return sign_marker(get_settings().secret_key.get_secret_value(), marker_id).code


class Clinic:
    def __init__(self, admin: factories.Actor, department: Department, room: Room, other_room: Room) -> None:
        self.admin, self.department, self.room, self.other_room = admin, department, room, other_room


@pytest.fixture
async def clinic(gql: GraphQLClient) -> Clinic:
    admin = await factories.admin_user()
    department = await factories.department(name="消化内科", code="NK-XH")
    room = await factories.room(department, name="201诊室")
    other_room = await factories.room(department, name="202诊室")  # not on the map
    document = clinic_document(room_id=room.id, department_id=None)
    imported = await gql.as_(admin.token).data(IMPORT, {"d": document})
    assert imported["importMap"]["__typename"] == "MapImported"
    return Clinic(admin, department, room, other_room)


async def route(
    gql: GraphQLClient, start: str, to: dict[str, Any], accessible: bool = False
) -> dict[str, Any]:
    data = await gql.data(ROUTE, {"from": start, "to": to, "accessible": accessible})
    result: dict[str, Any] = data["route"]
    return result


async def test_a_visitor_scanning_the_entrance_marker_is_guided_to_the_room(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    result = await route(gql, code("A-1F-ENTRANCE"), {"roomId": str(clinic.room.id)})

    assert result["__typename"] == "Route"
    assert result["distanceM"] == 61.0
    assert result["walkingSeconds"] == 91
    assert [s["instructionZh"] for s in result["steps"]] == [
        "直行 20 米",
        "左转",
        "直行 10 米",
        "走楼梯到 2F",
        "直行 10 米",
        "右转",
        "直行 10 米",
        "诊室在您左手边",
    ]
    assert result["steps"][3]["instructionEn"] == "take the stairs to 2F"
    assert result["points"][0] == {
        "key": "E",
        "name": "E",
        "kind": "ENTRANCE",
        "buildingName": "门诊楼",
        "floorName": "1F",
        "level": 1,
        "x": 0.0,
        "y": 0.0,
    }
    assert result["destination"] == {"key": "R"}


async def test_the_scanned_url_works_as_well_as_the_bare_code(gql: GraphQLClient, clinic: Clinic) -> None:
    url = f"https://hospital.example/navigation/m/{code('A-1F-ENTRANCE')}"
    result = await route(gql, url, {"roomId": str(clinic.room.id)})
    assert result["distanceM"] == 61.0


async def test_an_accessible_route_takes_the_lift(gql: GraphQLClient, clinic: Clinic) -> None:
    result = await route(gql, code("A-1F-ENTRANCE"), {"roomId": str(clinic.room.id)}, accessible=True)
    assert result["accessible"] is True
    assert result["distanceM"] == 77.0
    assert "乘电梯到 2F" in [s["instructionZh"] for s in result["steps"]]
    assert result["steps"][-1]["instructionEn"] == "the room is on your right"


async def test_closing_the_stairs_is_seen_by_the_next_route_and_closing_the_lift_too_is_no_route(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    admin = gql.as_(clinic.admin.token)
    edges = (await admin.data(EDGES))["mapEdges"]
    before = await route(gql, code("A-1F-ENTRANCE"), {"roomId": str(clinic.room.id)})  # fills the cache
    assert before["distanceM"] == 61.0

    stairs, lift = edges[4]["id"], edges[5]["id"]
    assert (await admin.data(CLOSE, {"id": stairs}))["setMapEdgeClosed"] == {
        "__typename": "MapEdge",
        "closed": True,
    }
    by_lift = await route(gql, code("A-1F-ENTRANCE"), {"roomId": str(clinic.room.id)})
    assert by_lift["distanceM"] == 77.0

    await admin.data(CLOSE, {"id": lift})
    closed = await route(gql, code("A-1F-ENTRANCE"), {"roomId": str(clinic.room.id)})
    assert closed == {
        "__typename": "NoRouteError",
        "reason": "CLOSED",
        "message": "the way to the destination is temporarily closed; ask at the service desk",
    }


async def test_a_room_not_on_the_map_and_an_unknown_room_are_typed_answers(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    unmapped = await route(gql, code("A-1F-ENTRANCE"), {"roomId": str(clinic.other_room.id)})
    assert unmapped["__typename"] == "NoRouteError"
    assert unmapped["reason"] == "TARGET_NOT_ON_MAP"
    unknown = await route(gql, code("A-1F-ENTRANCE"), {"roomId": "999999"})
    assert unknown == {"__typename": "NotFoundError", "message": "room not found"}


async def test_a_department_is_reached_at_its_nearest_room(gql: GraphQLClient, clinic: Clinic) -> None:
    result = await route(gql, code("A-1F-LIFT"), {"departmentId": str(clinic.department.id)})
    assert result["destination"] == {"key": "R"}
    assert result["distanceM"] == 27.0  # lift 4 + 10 + 10 + 3


@pytest.mark.parametrize(
    "forged",
    [
        "A-1F-ENTRANCE.AAAAAAAAAAAAAAAA",  # a made-up signature
        "A-1F-LIFT." + "{signature_of_entrance}",  # a genuine signature moved to another marker
        "{entrance_code_with_one_letter_changed}",
        "A-1F-ENTRANCE",  # no signature at all
    ],
)
async def test_a_forged_or_altered_marker_code_is_rejected(
    gql: GraphQLClient, clinic: Clinic, forged: str
) -> None:
    genuine = code("A-1F-ENTRANCE")
    signature = genuine.rsplit(".", 1)[1]
    altered = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    text = forged.format(signature_of_entrance=signature, entrance_code_with_one_letter_changed=altered)

    result = await route(gql, text, {"roomId": str(clinic.room.id)})

    assert result == {
        "__typename": "InvalidMarkerError",
        "message": "this QR code was not issued by the hospital or was altered; scan a code on the wall",
    }


async def test_a_genuine_marker_that_is_no_longer_on_the_map_says_so(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    result = await route(gql, code("OLD-MARKER"), {"roomId": str(clinic.room.id)})
    assert (result["__typename"], result["reason"]) == ("NoRouteError", "START_NOT_ON_MAP")


@pytest.mark.usefixtures("clinic")
async def test_the_target_names_exactly_one_destination(gql: GraphQLClient) -> None:
    both = await gql(
        ROUTE, {"from": code("E"), "to": {"roomId": "1", "departmentId": "2"}, "accessible": False}
    )
    assert "exactly one key" in both["errors"][0]["message"]


async def _booking_today(owner: factories.Actor, room: Room, status: BookingStatus, hour: int) -> Booking:
    settings = get_settings()
    doc, _ = await factories.doctor(await Department.get(id=room.department_id), room=room)
    schedule = await factories.session(doctor_row=doc, starts_in=timedelta(minutes=1))
    slot = (await schedule.slots.all())[0]
    person = await factories.patient(owner)
    today = utcnow().astimezone(settings.tz).date()
    starts = utcnow().replace(microsecond=0) + timedelta(hours=hour)
    return await Booking.create(
        account_id=owner.id,
        patient_id=person.id,
        schedule_id=schedule.id,
        slot_id=slot.id,
        department_id=room.department_id,
        visit_date=today,
        slot_starts_at=starts,
        slot_ends_at=starts + timedelta(minutes=30),
        status=status,
        queue_number=1,
        fee=0,
        idempotency_key=f"nav-{status}-{hour}-{person.id}",
        request_fingerprint="x",
    )


async def test_a_patient_is_routed_to_the_room_of_their_next_visit_today(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    patient = await factories.patient_user()
    await _booking_today(patient, clinic.other_room, BookingStatus.CANCELLED, 0)  # cancelled: ignored
    booking = await _booking_today(patient, clinic.room, BookingStatus.CONFIRMED, 1)
    stranger = await factories.patient_user()

    result = (await gql.as_(patient.token).data(NEXT_VISIT, {"code": code("A-1F-ENTRANCE")}))[
        "myNextVisitRoute"
    ]
    assert result["__typename"] == "Route"
    assert result["destination"] == {"key": "R", "name": "R"}
    assert result["steps"][-1] == {"instructionZh": "诊室在您左手边"}

    nothing = (await gql.as_(stranger.token).data(NEXT_VISIT, {"code": code("A-1F-ENTRANCE")}))[
        "myNextVisitRoute"
    ]
    assert nothing == {"__typename": "NoVisitTodayError", "message": "you have no confirmed visit left today"}

    # A booking is routed only for its owner.
    mine = await gql.as_(patient.token).data(
        ROUTE, {"from": code("A-1F-ENTRANCE"), "to": {"bookingId": str(booking.id)}, "accessible": False}
    )
    assert mine["route"]["destination"] == {"key": "R"}
    theirs = await gql.as_(stranger.token).data(
        ROUTE, {"from": code("A-1F-ENTRANCE"), "to": {"bookingId": str(booking.id)}, "accessible": False}
    )
    assert theirs["route"] == {"__typename": "NotFoundError", "message": "booking not found"}


@pytest.mark.usefixtures("clinic")
async def test_next_visit_route_is_for_patients(gql: GraphQLClient) -> None:
    anonymous = await gql(NEXT_VISIT, {"code": code("A-1F-ENTRANCE")})
    assert anonymous["errors"][0]["message"] == "only a patient account may do this"


async def test_a_room_check_in_code_on_the_wall_also_starts_a_route(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    at_room = sign_code("room", clinic.room.id, secret=get_settings().secret_key.get_secret_value())
    result = await route(gql, at_room, {"departmentId": str(clinic.department.id)})
    assert (result["__typename"], result["distanceM"]) == ("Route", 0.0)

    forged = at_room[:-2] + ("AA" if not at_room.endswith("AA") else "BB")
    assert (await route(gql, forged, {"roomId": str(clinic.room.id)}))["__typename"] == "InvalidMarkerError"
