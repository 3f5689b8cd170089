"""Two server processes sharing PostgreSQL and Redis: the TV on one sees a call made through the other."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from gualema.database import dialect
from tests.conftest import REDIS_URL
from tests.fixtures.api import GraphQLClient, ServerProcess
from tests.fixtures.graphql_ws import graphql_socket
from tests.queueing.conftest import CALL_NEXT, Clinic, arrive, display_token
from tests.queueing.test_board_subscription import BOARD


@pytest.mark.skipif(
    REDIS_URL is None, reason="needs Redis (GUALEMA_TEST_REDIS_URL) to carry messages between processes"
)
async def test_a_display_on_one_process_sees_a_call_made_through_another(
    gql: GraphQLClient, clinic: Clinic, server_processes: Callable[..., ServerProcess]
) -> None:
    if dialect() == "sqlite":
        pytest.skip("several processes on one SQLite file is not a supported deployment; run on PostgreSQL")
    await arrive(gql, clinic, name="张小三", number=1)
    token = await display_token(gql, clinic.room_id)
    tv_server, doctor_server = server_processes(), server_processes()

    async with graphql_socket(tv_server.ws_url, token) as socket:
        board = await socket.subscribe(BOARD, {"roomId": str(clinic.room_id)})
        snapshot = await socket.next_data(board, "queueBoard")
        async with httpx.AsyncClient(base_url=doctor_server.url, timeout=10) as doctors_app:
            called = await GraphQLClient(doctors_app, clinic.doctor_login.token).data(
                CALL_NEXT, {"roomId": str(clinic.room_id)}
            )
        seen = await socket.next_data(board, "queueBoard")

    assert called["callNext"]["label"] == "A001"
    assert snapshot["called"] is None
    assert seen["sequence"] == snapshot["sequence"] + 1
    assert seen["called"] == {"label": "A001", "patientName": "张*三", "callCount": 1}
