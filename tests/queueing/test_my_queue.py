"""The patient's phone: place in the queue, wait estimate, "your turn", "you were skipped"."""

from __future__ import annotations

from tests import factories
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import graphql_socket
from tests.queueing.conftest import CALL_NEXT, Clinic, arrive, ticket_mutation

MY_QUEUE = """
subscription($bookingId: ID!) {
  myQueue(bookingId: $bookingId) {
    label state roomName position peopleAhead estimatedWaitMinutes yourTurn skipped message
  }
}"""


async def test_the_patient_watches_their_place_until_called_and_then_skipped(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    await arrive(gql, clinic, number=1)
    me = await arrive(gql, clinic, number=2, name="王五")
    doctor = gql.as_(clinic.doctor_login.token)
    room = str(clinic.room_id)

    async with graphql_socket(live_server.ws_url, me.owner.token) as socket:
        mine = await socket.subscribe(MY_QUEUE, {"bookingId": str(me.booking.id)})
        waiting = await socket.next_data(mine, "myQueue")
        await doctor.data(CALL_NEXT, {"roomId": room})
        next_up = await socket.next_data(mine, "myQueue")
        await doctor.data(CALL_NEXT, {"roomId": room})
        my_turn = await socket.next_data(mine, "myQueue")
        await doctor.data(ticket_mutation("skip"), {"ticketId": me.ticket_id})
        skipped = await socket.next_data(mine, "myQueue")

    room_name = waiting["roomName"]
    assert waiting == {
        "label": "A002",
        "state": "WAITING",
        "roomName": room_name,
        "position": 2,
        "peopleAhead": 1,
        "estimatedWaitMinutes": 8,  # no pace yet: the configured 8 minutes a patient
        "yourTurn": False,
        "skipped": False,
        "message": "前面还有1位，预计约8分钟 (1 ahead of you)",
    }
    assert (next_up["position"], next_up["peopleAhead"], next_up["estimatedWaitMinutes"]) == (1, 0, 0)
    assert (my_turn["state"], my_turn["yourTurn"], my_turn["position"]) == ("CALLED", True, None)
    assert my_turn["message"] == f"轮到您了，请到{room_name}就诊 (your turn: go to {room_name})"
    assert (skipped["state"], skipped["skipped"], skipped["yourTurn"]) == ("SKIPPED", True, False)
    assert skipped["message"].startswith("您已过号")


async def test_a_patient_cannot_watch_another_patients_queue(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    someone = await arrive(gql, clinic, number=1)
    snoop = await factories.patient_user()

    async with graphql_socket(live_server.ws_url, snoop.token) as socket:
        attempt = await socket.subscribe(MY_QUEUE, {"bookingId": str(someone.booking.id)})
        refused = await socket.next_payload(attempt)
        ended = await socket.receive()
        other_attempt = await socket.subscribe(MY_QUEUE, {"bookingId": "999999"})
        missing = await socket.next_payload(other_attempt)

    assert refused["data"] is None
    assert ended == {"id": attempt, "type": "complete"}
    assert [(e["message"], e["extensions"]["code"]) for e in refused["errors"]] == [
        ("no such booking", "NOT_FOUND")
    ]
    assert missing["errors"] == refused["errors"]


async def test_only_patients_subscribe_to_my_queue(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    someone = await arrive(gql, clinic, number=1)

    async with graphql_socket(live_server.ws_url, clinic.doctor_login.token) as socket:
        attempt = await socket.subscribe(MY_QUEUE, {"bookingId": str(someone.booking.id)})
        refused = await socket.receive()

    assert (refused["id"], refused["type"]) == (attempt, "error")
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["FORBIDDEN"]


async def test_before_check_in_the_phone_says_to_check_in(live_server: LiveServer, clinic: Clinic) -> None:
    owner = await factories.patient_user()
    booking = await factories.confirmed_booking(clinic.schedule, owner)

    async with graphql_socket(live_server.ws_url, owner.token) as socket:
        mine = await socket.subscribe(MY_QUEUE, {"bookingId": str(booking.id)})
        view = await socket.next_data(mine, "myQueue")

    assert (view["state"], view["label"], view["position"]) == (None, None, None)
    assert view["message"] == "请到诊区扫码签到 (check in when you arrive)"
