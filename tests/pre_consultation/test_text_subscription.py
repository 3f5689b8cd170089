from __future__ import annotations

from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import graphql_socket
from tests.pre_consultation.scenario import answer, patient_with_login, start

STREAM = "subscription($id: ID!) { preConsultation(id: $id) { text done } }"


async def test_a_subscriber_gets_the_standing_question_then_the_assistants_text(
    gql: GraphQLClient, live_server: LiveServer
) -> None:
    actor, patient_id = await patient_with_login()
    started = await start(gql, actor, patient_id)

    async with graphql_socket(live_server.ws_url, actor.token) as socket:
        operation = await socket.subscribe(STREAM, {"id": started["id"]})
        snapshot = await socket.next_data(operation, "preConsultation")
        assert snapshot == {"text": started["question"], "done": False}

        emergency = await answer(gql, actor, started["id"], "我不想活了")
        assert emergency["status"] == "EMERGENCY"
        pieces = [await socket.next_data(operation, "preConsultation") for _ in range(3)]

    assert "12356" in pieces[0]["text"]
    assert [p["done"] for p in pieces] == [False, False, True]
    assert "不是诊断" in pieces[2]["text"]


async def test_another_account_cannot_subscribe(gql: GraphQLClient, live_server: LiveServer) -> None:
    actor, patient_id = await patient_with_login()
    other, _ = await patient_with_login("李娜")
    started = await start(gql, actor, patient_id)
    async with graphql_socket(live_server.ws_url, other.token) as socket:
        operation = await socket.subscribe(STREAM, {"id": started["id"]})
        message = await socket.receive()
    assert message["id"] == operation
    assert message["type"] in {"error", "next"}
