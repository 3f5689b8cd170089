"""Issue 5 point 7: a waiting-room TV on one server process keeps up with calls made through another
when Redis drops the pub/sub connections mid-subscription (PostgreSQL or MariaDB, and Redis)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets
from redis import asyncio as redis

from gualema.settings import Settings
from models.booking import Booking, BookingStatus
from models.booking.tables import active_department_day_key, active_session_key
from models.scheduling import Slot
from tests import factories
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.fixtures.api import ServerProcess
from tests.fixtures.database import wipe_tables
from tests.realtime.conftest import DEADLINE_SECONDS

pytestmark = [
    pytest.mark.skipif(REDIS_URL is None, reason="GUALEMA_TEST_REDIS_URL is unset"),
    pytest.mark.skipif(DATABASE_URL.startswith("sqlite"), reason="several processes need a database server"),
]

# The seeded session is "today" in UTC whatever the hour; the servers must agree on the date.
SERVER_ENV = {"GUALEMA_TIMEZONE": "UTC"}

BOARD = """
subscription($roomId: ID!) {
  queueBoard(roomId: $roomId) { sequence snapshot called { label } counts { waiting called } }
}"""
ISSUE_DISPLAY_TOKEN = """
mutation($input: IssueDisplayTokenInput!) {
  issueDisplayToken(input: $input) { ... on DisplayToken { token } ... on Error { message } }
}"""
CHECK_IN_BY_STAFF = """
mutation($bookingId: ID!) {
  checkInByStaff(bookingId: $bookingId) { ... on QueueTicket { label } ... on Error { message } }
}"""
CALL_NEXT = """
mutation($roomId: ID!) { callNext(roomId: $roomId) { ... on QueueTicket { label } ... on Error { message } } }
"""


@pytest.fixture(autouse=True)
async def clean_database(settings: Settings) -> None:  # noqa: ARG001 - the database must be open
    await wipe_tables()


async def confirmed_bookings(count: int) -> tuple[int, list[int], str, str]:
    """A room with its doctor, a session running now and `count` CONFIRMED bookings for it."""
    doctor, doctor_login = await factories.doctor()
    admin = await factories.admin_user()
    schedule = await factories.session(
        capacity=count, starts_in=timedelta(minutes=-30), duration=timedelta(hours=4), doctor_row=doctor
    )
    slot = await Slot.get(schedule_id=schedule.id)
    owner = await factories.patient_user()
    booking_ids = []
    for number in range(1, count + 1):
        person = await factories.patient(owner, id_number=factories.resident_id(f"1990010{number}"))
        booking = await Booking.create(
            account_id=owner.id,
            patient_id=person.id,
            schedule_id=schedule.id,
            slot_id=slot.id,
            department_id=schedule.department_id,
            visit_date=schedule.date,
            slot_starts_at=slot.starts_at,
            slot_ends_at=slot.ends_at,
            status=BookingStatus.CONFIRMED,
            queue_number=number,
            fee=0,
            active_session_key=active_session_key(person.id, schedule.id),
            active_department_day_key=active_department_day_key(
                person.id, schedule.department_id, schedule.date
            ),
            idempotency_key=f"recovery-{number}",
            request_fingerprint="recovery",
        )
        booking_ids.append(booking.id)
    return schedule.room_id, booking_ids, doctor_login.token, admin.token


async def graphql(server: ServerProcess, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE_SECONDS) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = next(iter(body["data"].values()))
    return result


async def drop_pubsub_connections_of_this_run(settings: Settings) -> int:
    """Every pub/sub connection of this test run (the servers' and the test process's), none other."""
    assert REDIS_URL is not None
    ours = f"gualema-realtime:{settings.redis_prefix}:"
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        clients = await admin.client_list(_type="pubsub")
        killed = 0
        for client in clients:
            if str(client.get("name", "")).startswith(ours):
                killed += int(
                    await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub", "ID", client["id"])
                )
        return killed
    finally:
        await admin.aclose()


async def test_a_tv_on_one_process_sees_a_call_made_through_another_after_redis_drops_the_connections(
    server_processes: Callable[..., ServerProcess], settings: Settings
) -> None:
    room_id, booking_ids, doctor_token, admin_token = await confirmed_bookings(2)
    tv_server = server_processes(extra_env=SERVER_ENV)
    desk_server = server_processes(extra_env=SERVER_ENV)
    display_token = (
        await graphql(desk_server, admin_token, ISSUE_DISPLAY_TOKEN, {"input": {"roomIds": [str(room_id)]}})
    )["token"]
    labels = [
        (await graphql(desk_server, admin_token, CHECK_IN_BY_STAFF, {"bookingId": str(b)}))["label"]
        for b in booking_ids
    ]

    async with websockets.connect(
        tv_server.ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as tv:
        await tv.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {display_token}"}})
        )
        assert json.loads(await tv.recv())["type"] == "connection_ack"
        await tv.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": BOARD, "variables": {"roomId": str(room_id)}},
                }
            )
        )

        async def next_board() -> dict[str, Any]:
            message = json.loads(await asyncio.wait_for(tv.recv(), DEADLINE_SECONDS))
            assert message["type"] == "next", message
            board: dict[str, Any] = message["payload"]["data"]["queueBoard"]
            return board

        # Given a TV showing two patients waiting
        first = await next_board()
        assert (first["snapshot"], first["called"], first["counts"]) == (
            True,
            None,
            {"waiting": 2, "called": 0},
        )

        # When Redis drops both processes' pub/sub connections (each follows the browse cache's
        # changes, decision 260; the TV's also carries the board), and a doctor calls through the other
        assert await drop_pubsub_connections_of_this_run(settings) == 2
        called = await graphql(desk_server, doctor_token, CALL_NEXT, {"roomId": str(room_id)})
        assert called["label"] == labels[0]

        # Then the TV gets a fresh snapshot after the drop and ends up showing the call
        boards = [await next_board()]
        while boards[-1]["called"] is None or not any(board["snapshot"] for board in boards):
            boards.append(await next_board())
        assert boards[-1]["called"] == {"label": labels[0]}
        assert boards[-1]["counts"] == {"waiting": 1, "called": 1}

        # And the next call arrives as an ordinary message
        second = await graphql(desk_server, doctor_token, CALL_NEXT, {"roomId": str(room_id)})
        latest = await next_board()
        while latest["called"] != {"label": second["label"]}:
            latest = await next_board()
        assert (latest["snapshot"], latest["counts"]) == (False, {"waiting": 0, "called": 2})
