"""The waiting-room board over graphql-transport-ws: a snapshot first, then one message per change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from websockets.exceptions import ConnectionClosedError

from gualema.settings import get_settings
from models.access_tokens import issue_access_token
from tests import factories
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import GraphQLSocket, graphql_socket
from tests.queueing.conftest import (
    CALL_NEXT,
    ISSUE_DISPLAY_TOKEN,
    Clinic,
    arrive,
    display_token,
    ticket_mutation,
)

BOARD = """
subscription($roomId: ID!) {
  queueBoard(roomId: $roomId) {
    sequence snapshot
    event { kind label }
    room { id name }
    doctor { name }
    called { label patientName callCount }
    waiting { label patientName }
    skipped { label }
    counts { waiting called skipped done }
  }
}"""


async def test_a_display_gets_a_snapshot_then_each_call_with_the_next_sequence_number(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    await arrive(gql, clinic, name="张小三", number=1)
    await arrive(gql, clinic, name="李四", number=2)
    token = await display_token(gql, clinic.room_id)
    doctor = gql.as_(clinic.doctor_login.token)

    async with graphql_socket(live_server.ws_url, token) as socket:
        board = await socket.subscribe(BOARD, {"roomId": str(clinic.room_id)})
        snapshot = await socket.next_data(board, "queueBoard")

        await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})
        called = await socket.next_data(board, "queueBoard")
        await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})
        next_called = await socket.next_data(board, "queueBoard")

    assert snapshot["snapshot"] is True
    assert snapshot["called"] is None
    assert snapshot["waiting"] == [
        {"label": "A001", "patientName": "张*三"},
        {"label": "A002", "patientName": "李*"},
    ]
    assert snapshot["doctor"] == {"name": "李医生"}
    assert called["snapshot"] is False
    assert called["sequence"] == snapshot["sequence"] + 1
    assert called["event"] == {"kind": "called", "label": "A001"}
    assert called["called"] == {"label": "A001", "patientName": "张*三", "callCount": 1}
    assert called["waiting"] == [{"label": "A002", "patientName": "李*"}]
    assert called["counts"] == {"waiting": 1, "called": 1, "skipped": 0, "done": 0}
    assert next_called["sequence"] == snapshot["sequence"] + 2
    assert next_called["called"]["label"] == "A002"


async def test_a_resubscribing_display_gets_the_state_in_the_database(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    first = await arrive(gql, clinic, number=1)
    await arrive(gql, clinic, number=2)
    doctor = gql.as_(clinic.doctor_login.token)
    await doctor.data(CALL_NEXT, {"roomId": str(clinic.room_id)})
    await doctor.data(ticket_mutation("skip"), {"ticketId": first.ticket_id})
    token = await display_token(gql, clinic.room_id)

    async with graphql_socket(live_server.ws_url, token) as socket:
        board = await socket.subscribe(BOARD, {"roomId": str(clinic.room_id)})
        snapshot = await socket.next_data(board, "queueBoard")

    assert snapshot["skipped"] == [{"label": "A001"}]
    assert snapshot["waiting"] == [{"label": "A002", "patientName": "张*三"}]
    assert snapshot["counts"] == {"waiting": 1, "called": 0, "skipped": 1, "done": 0}
    # four changes so far: two check-ins, the call and the skip
    assert snapshot["sequence"] == 4


async def test_a_display_token_shows_only_its_own_rooms(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    other_room = await factories.room()
    token = await display_token(gql, other_room.id)

    async with graphql_socket(live_server.ws_url, token) as socket:
        board = await socket.subscribe(BOARD, {"roomId": str(clinic.room_id)})
        refused = await socket.next_payload(board)

    assert refused["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in refused["errors"]] == [
        ("this display token is not valid for this room", "FORBIDDEN")
    ]


async def test_a_display_token_cannot_call_patients_or_read_accounts(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    token = await display_token(gql, clinic.room_id)

    called = await gql.as_(token)(CALL_NEXT, {"roomId": str(clinic.room_id)})
    me = await gql.as_(token)("{ me { id } }")

    assert called["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert me["errors"][0]["extensions"]["code"] in {"UNAUTHENTICATED", "FORBIDDEN"}


async def test_only_an_administrator_issues_display_tokens_for_existing_rooms(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    admin = await factories.admin_user()
    by_doctor = await gql.as_(clinic.doctor_login.token)(
        ISSUE_DISPLAY_TOKEN, {"roomIds": [str(clinic.room_id)]}
    )
    missing = await gql.as_(admin.token).data(ISSUE_DISPLAY_TOKEN, {"roomIds": ["999999"]})

    assert by_doctor["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert missing["issueDisplayToken"] == {"__typename": "NotFoundError", "message": "no such room: 999999"}


async def test_the_stream_ends_with_its_socket_when_the_token_expires(
    live_server: LiveServer, clinic: Clinic
) -> None:
    token, _ = issue_access_token(
        get_settings().secret_key.get_secret_value(),
        subject=None,
        role="display",
        lifetime=timedelta(seconds=2),
        room_ids=frozenset({clinic.room_id}),
    )

    async with graphql_socket(live_server.ws_url, token) as socket:
        board = await socket.subscribe(BOARD, {"roomId": str(clinic.room_id)})
        await socket.next_data(board, "queueBoard")
        with pytest.raises(ConnectionClosedError) as ended:
            await socket.receive(within=8)

    # The transport closes the socket (gualema/session_watch.py), as for every subscription
    assert ended.value.rcvd is not None
    assert (ended.value.rcvd.code, ended.value.rcvd.reason) == (4401, "token expired")


async def test_the_department_board_shows_every_room_of_the_department(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    await arrive(gql, clinic, number=1)
    token = await display_token(gql, clinic.room_id)
    query = """subscription($id: ID!) { departmentQueueBoard(departmentId: $id) {
      sequence snapshot rooms { room { id } called { label } waiting { label } } } }"""

    async with graphql_socket(live_server.ws_url, token) as socket:
        board = await socket.subscribe(query, {"id": str(clinic.department_id)})
        snapshot = await socket.next_data(board, "departmentQueueBoard")
        await gql.as_(clinic.doctor_login.token).data(CALL_NEXT, {"roomId": str(clinic.room_id)})
        called = await socket.next_data(board, "departmentQueueBoard")

    assert snapshot["rooms"] == [
        {"room": {"id": str(clinic.room_id)}, "called": None, "waiting": [{"label": "A001"}]}
    ]
    assert called["sequence"] == snapshot["sequence"] + 1
    assert called["rooms"][0]["called"] == {"label": "A001"}


REVOKE_DISPLAY_TOKEN = """
mutation($tokenId: ID!, $reason: String!) {
  revokeDisplayToken(tokenId: $tokenId, reason: $reason) {
    __typename ... on DisplayTokenRevoked { tokenId } ... on Error { message }
  }
}"""


async def test_a_revoked_display_stops_at_the_next_change_and_cannot_reconnect(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    # A TV is stolen from the waiting room: its token must stop working before its 180 days.
    await arrive(gql, clinic, number=1)
    admin = gql.as_((await factories.admin_user()).token)
    issued = (
        await admin.data(
            "mutation($r: [ID!]!) { issueDisplayToken(input: {roomIds: $r}) {"
            " ... on DisplayToken { token tokenId } } }",
            {"r": [str(clinic.room_id)]},
        )
    )["issueDisplayToken"]
    other_display = await display_token(gql, clinic.room_id)

    async with (
        graphql_socket(live_server.ws_url, issued["token"]) as stolen,
        graphql_socket(live_server.ws_url, other_display) as kept,
    ):
        stolen_board = await stolen.subscribe(BOARD, {"roomId": str(clinic.room_id)})
        kept_board = await kept.subscribe(BOARD, {"roomId": str(clinic.room_id)})
        await stolen.next_data(stolen_board, "queueBoard")
        await kept.next_data(kept_board, "queueBoard")

        revoked = await admin.data(REVOKE_DISPLAY_TOKEN, {"tokenId": issued["tokenId"], "reason": "电视被盗"})
        with pytest.raises(ConnectionClosedError) as ended:
            await _until_closed(stolen)
        await gql.as_(clinic.doctor_login.token).data(CALL_NEXT, {"roomId": str(clinic.room_id)})
        still_shown = await kept.next_data(kept_board, "queueBoard")

    assert revoked["revokeDisplayToken"] == {
        "__typename": "DisplayTokenRevoked",
        "tokenId": issued["tokenId"],
    }
    assert ended.value.rcvd is not None
    assert (ended.value.rcvd.code, ended.value.rcvd.reason) == (4403, "token revoked")
    assert still_shown["called"]["label"] == "A001"
    with pytest.raises(ConnectionClosedError, match="4403"):
        async with graphql_socket(live_server.ws_url, issued["token"]):
            pass


async def test_revoking_needs_an_administrator_and_a_token_id_and_a_reason(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    admin = gql.as_((await factories.admin_user()).token)

    by_doctor = await gql.as_(clinic.doctor_login.token)(
        REVOKE_DISPLAY_TOKEN, {"tokenId": "0123456789abcdef", "reason": "x"}
    )
    bad_id = await admin.data(REVOKE_DISPLAY_TOKEN, {"tokenId": "not-an-id", "reason": "x"})
    no_reason = await admin.data(REVOKE_DISPLAY_TOKEN, {"tokenId": "0123456789abcdef", "reason": " "})

    assert by_doctor["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert bad_id["revokeDisplayToken"]["__typename"] == "InvalidInputError"
    assert no_reason["revokeDisplayToken"]["__typename"] == "InvalidInputError"


async def _until_closed(socket: GraphQLSocket) -> None:
    while True:  # board messages may still arrive until the socket's watcher sees the revocation
        await socket.receive()
