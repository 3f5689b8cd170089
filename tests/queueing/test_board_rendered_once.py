"""A board change is executed once for all its displays; anything that may differ per viewer is not.

The mechanism (gualema.graphql_schema.SharedEventExecution) is driven through a small schema whose
field resolvers count their calls; the queue board itself is checked end to end over WebSockets.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator
from typing import ClassVar

import strawberry

from gualema.graphql_schema import SharedEventExecution
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import graphql_socket
from tests.queueing.conftest import CALL_NEXT, Clinic, arrive, display_token

resolved: Counter[str] = Counter()
feeds: list[asyncio.Queue[object]] = []
SUBSCRIBERS = 3


def new_feed() -> asyncio.Queue[object]:
    feed: asyncio.Queue[object] = asyncio.Queue()
    feeds.append(feed)
    if len(feeds) == SUBSCRIBERS:
        everyone_subscribed[0].set()
    return feed


everyone_subscribed: list[asyncio.Event] = []  # one per test: an Event belongs to one event loop


@strawberry.type
class SharedBoard:
    same_for_every_viewer: ClassVar[bool] = True
    number: strawberry.Private[int]

    @strawberry.field
    def label(self) -> str:
        resolved["shared"] += 1
        return f"A{self.number:03d}"


@strawberry.type
class PersonalBoard:  # not declared viewer-independent: executed for each subscriber
    number: strawberry.Private[int]

    @strawberry.field
    def label(self) -> str:
        resolved["personal"] += 1
        return f"A{self.number:03d}"


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def shared(self) -> AsyncGenerator[SharedBoard, None]:
        feed = new_feed()
        while True:
            yield await feed.get()  # type: ignore[misc]

    @strawberry.subscription
    async def personal(self) -> AsyncGenerator[PersonalBoard, None]:
        feed = new_feed()
        while True:
            yield await feed.get()  # type: ignore[misc]


async def three_subscribers_see(field: str, board: object) -> list[object]:
    schema = strawberry.Schema(Query, subscription=Subscription, execution_context_class=SharedEventExecution)
    feeds.clear()
    everyone_subscribed[:] = [asyncio.Event()]
    streams = [await schema.subscribe(f"subscription {{ {field} {{ label }} }}") for _ in range(SUBSCRIBERS)]
    pending = [asyncio.ensure_future(anext(stream)) for stream in streams]
    async with asyncio.timeout(5):
        await everyone_subscribed[0].wait()
        for feed in feeds:
            feed.put_nowait(board)  # the same object to every subscriber, as the board stream does
        results = await asyncio.gather(*pending)
    for stream in streams:
        await stream.aclose()
    return [result.data for result in results]


async def test_a_viewer_independent_board_is_executed_once_for_every_subscriber() -> None:
    resolved.clear()

    data = await three_subscribers_see("shared", SharedBoard(number=7))

    assert data == [{"shared": {"label": "A007"}}] * 3
    assert resolved == {"shared": 1}


async def test_any_other_type_is_executed_for_each_subscriber() -> None:
    resolved.clear()

    data = await three_subscribers_see("personal", PersonalBoard(number=7))

    assert data == [{"personal": {"label": "A007"}}] * 3
    assert resolved == {"personal": 3}


BOARD = """
subscription($roomId: ID!) {
  queueBoard(roomId: $roomId) { sequence snapshot event { kind label } called { label patientName } }
}"""


async def test_every_display_of_a_room_gets_the_same_board_for_a_call(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    await arrive(gql, clinic, name="张小三", number=1)
    token = await display_token(gql, clinic.room_id)

    async with (
        graphql_socket(live_server.ws_url, token) as first,
        graphql_socket(live_server.ws_url, token) as second,
    ):
        boards = [
            await socket.subscribe(BOARD, {"roomId": str(clinic.room_id)}) for socket in (first, second)
        ]
        for socket, board in zip((first, second), boards, strict=True):
            await socket.next_data(board, "queueBoard")
        await gql.as_(clinic.doctor_login.token).data(CALL_NEXT, {"roomId": str(clinic.room_id)})
        called = [
            await socket.next_data(board, "queueBoard")
            for socket, board in zip((first, second), boards, strict=True)
        ]

    assert called[0] == called[1]
    assert called[0]["event"] == {"kind": "called", "label": "A001"}
    assert called[0]["called"] == {"label": "A001", "patientName": "张*三"}
    assert called[0]["snapshot"] is False


async def test_a_display_joining_after_a_change_gets_the_changed_board_not_an_earlier_snapshot(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    await arrive(gql, clinic, name="张小三", number=1)
    await arrive(gql, clinic, name="李四", number=2)
    token = await display_token(gql, clinic.room_id)
    room = {"roomId": str(clinic.room_id)}

    async with graphql_socket(live_server.ws_url, token) as first:
        board = await first.subscribe(BOARD, room)
        before = await first.next_data(board, "queueBoard")
        await gql.as_(clinic.doctor_login.token).data(CALL_NEXT, room)
        await first.next_data(board, "queueBoard")
        async with graphql_socket(live_server.ws_url, token) as second:
            joined = await second.next_data(await second.subscribe(BOARD, room), "queueBoard")
        async with graphql_socket(live_server.ws_url, token) as third:
            unchanged = await third.next_data(await third.subscribe(BOARD, room), "queueBoard")

    assert joined["snapshot"] is True
    assert joined["sequence"] == before["sequence"] + 1
    assert joined["called"] == {"label": "A001", "patientName": "张*三"}
    assert unchanged == joined
