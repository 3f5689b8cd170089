from __future__ import annotations

from typing import Any

from gualema.settings import Settings
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import graphql_socket
from tests.waitlist.scenario import cancel, drain, full_session, join, person

MY_WAITLIST = "subscription { myWaitlist { id status position bookingId } }"


async def test_a_waiter_sees_their_line_then_the_seat_they_were_given(
    gql: GraphQLClient, live_server: LiveServer, settings: Settings
) -> None:
    schedule, holders, booking_ids = await full_session(gql, seats=1)
    waiter = await person("候补者")
    joined = await join(gql, waiter, scheduleId=str(schedule.id))

    async with graphql_socket(live_server.ws_url, waiter.actor.token) as socket:
        operation = await socket.subscribe(MY_WAITLIST)
        snapshot = await socket.next_data(operation, "myWaitlist")
        assert snapshot == [{"id": joined["id"], "status": "WAITING", "position": 1, "bookingId": None}]

        await cancel(gql, holders[0], booking_ids[0])
        await drain(settings)
        booked: list[dict[str, Any]] = await socket.next_data(operation, "myWaitlist")  # type: ignore[assignment]
        assert booked[0]["status"] == "BOOKED"
        assert booked[0]["position"] == 0
        assert booked[0]["bookingId"] is not None


async def test_the_waitlist_subscription_needs_a_patient_login(live_server: LiveServer) -> None:
    async with graphql_socket(live_server.ws_url, None) as socket:
        operation = await socket.subscribe(MY_WAITLIST)
        message = await socket.receive()
    assert message["id"] == operation
    assert message["type"] in {"error", "next"}
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["message"] == "only a patient account may do this"
