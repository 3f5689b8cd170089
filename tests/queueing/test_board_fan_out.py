"""Every display of a board is served from one shared stream per process (decision 270).

After its snapshot a display's subscription is handed to the board's feed: one stream, one execution
per distinct selection and one frame per subscription id for each change, written straight to the
sockets. What a display sees must not change: its own id, its own selection, each change once and in
order, a snapshot when it joins behind, `complete` when it unsubscribes, nothing after.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Generator

import pytest
from starlette.applications import Starlette
from websockets.frames import Frame, Opcode

from gualema.websocket_fanout import SharedFanOut
from gualema.websocket_wire import text_frame
from schema.queueing import room_board
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import graphql_socket
from tests.queueing.conftest import CALL_NEXT, Clinic, arrive, display_token

LABELS = """
subscription($roomId: ID!) {
  queueBoard(roomId: $roomId) { sequence snapshot event { kind label } called { label } }
}"""
COUNTS = """
subscription Counts($roomId: ID!) {
  queueBoard(roomId: $roomId) { sequence counts { waiting called } }
}"""


def feeds_of(app: Starlette) -> SharedFanOut:
    fan_out: SharedFanOut = app.state.fan_out
    return fan_out


async def test_displays_with_different_selections_share_one_feed_and_each_get_their_own_answer(
    app: Starlette, gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    await arrive(gql, clinic, number=1)
    await arrive(gql, clinic, number=2)
    token = await display_token(gql, clinic.room_id)
    doctor = gql.as_(clinic.doctor_login.token)
    room = {"roomId": str(clinic.room_id)}

    async with (
        graphql_socket(live_server.ws_url, token) as first,
        graphql_socket(live_server.ws_url, token) as second,
    ):
        labels = await first.subscribe(LABELS, room)
        counts = await second.subscribe(COUNTS, room)
        labels_snapshot = await first.next_data(labels, "queueBoard")
        counts_snapshot = await second.next_data(counts, "queueBoard")
        feed = feeds_of(app).feeds[room_board(clinic.room_id)]

        await doctor.data(CALL_NEXT, room)
        called = await first.next_data(labels, "queueBoard")
        counted = await second.next_data(counts, "queueBoard")
        selections = len(feed.groups)

    assert selections == 2  # one execution per selection, one stream for both
    assert labels_snapshot["snapshot"] is True
    assert called == {
        "sequence": labels_snapshot["sequence"] + 1,
        "snapshot": False,
        "event": {"kind": "called", "label": "A001"},
        "called": {"label": "A001"},
    }
    assert counted == {"sequence": counts_snapshot["sequence"] + 1, "counts": {"waiting": 1, "called": 1}}


@pytest.mark.usefixtures("app")
async def test_a_display_that_joins_after_calls_gets_the_current_board_then_each_change_once(
    gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    for number in (1, 2, 3):
        await arrive(gql, clinic, number=number)
    token = await display_token(gql, clinic.room_id)
    doctor = gql.as_(clinic.doctor_login.token)
    room = {"roomId": str(clinic.room_id)}

    async with graphql_socket(live_server.ws_url, token) as early:
        early_id = await early.subscribe(LABELS, room)
        await early.next_data(early_id, "queueBoard")
        await doctor.data(CALL_NEXT, room)
        await early.next_data(early_id, "queueBoard")
        async with graphql_socket(live_server.ws_url, token) as late:
            late_id = await late.subscribe(LABELS, room)
            joined = await late.next_data(late_id, "queueBoard")
            await doctor.data(CALL_NEXT, room)
            seen_by_late = await late.next_data(late_id, "queueBoard")
            seen_by_early = await early.next_data(early_id, "queueBoard")
            with_nothing_more = late.receive(within=0.5)
            try:
                extra = await with_nothing_more
            except TimeoutError:
                extra = None

    assert joined["snapshot"] is True
    assert joined["called"] == {"label": "A001"}
    assert seen_by_late == seen_by_early
    assert seen_by_late["sequence"] == joined["sequence"] + 1
    assert seen_by_late["called"] == {"label": "A002"}
    assert extra is None


async def test_a_completed_subscription_gets_nothing_more_and_the_last_one_out_ends_the_feed(
    app: Starlette, gql: GraphQLClient, live_server: LiveServer, clinic: Clinic
) -> None:
    await arrive(gql, clinic, number=1)
    await arrive(gql, clinic, number=2)
    token = await display_token(gql, clinic.room_id)
    doctor = gql.as_(clinic.doctor_login.token)
    room = {"roomId": str(clinic.room_id)}

    async with graphql_socket(live_server.ws_url, token) as socket:
        board = await socket.subscribe(LABELS, room)
        await socket.next_data(board, "queueBoard")
        await socket.connection.send(json.dumps({"id": board, "type": "complete"}))
        await asyncio.sleep(0.2)
        feeds_after_complete = dict(feeds_of(app).feeds)
        await doctor.data(CALL_NEXT, room)
        try:
            after = await socket.receive(within=0.5)
        except TimeoutError:
            after = None
        again = await socket.subscribe(LABELS, room)  # the id space goes on; the board starts over
        resubscribed = await socket.next_data(again, "queueBoard")

    assert room_board(clinic.room_id) not in feeds_after_complete
    assert after is None
    assert resubscribed["snapshot"] is True
    assert resubscribed["called"] == {"label": "A001"}


def test_a_ready_made_frame_is_what_websockets_reads_at_every_length_class() -> None:
    for size in (0, 125, 126, 65_535, 65_536):
        payload = "板".encode() * (size // 3) + b"x" * (size % 3)
        parsed = parse_frame(text_frame(payload))
        assert (parsed.opcode, parsed.fin, parsed.data) == (Opcode.TEXT, True, payload)


def parse_frame(frame: bytes) -> Frame:
    """websockets' own parser, fed through its generator-based `read_exact`."""
    position = 0

    def read_exact(n: int) -> Generator[None, None, bytes]:
        nonlocal position
        chunk = frame[position : position + n]
        position += n
        return chunk
        yield  # a generator that never has to wait

    parser = Frame.parse(read_exact, mask=False)
    try:
        while True:
            next(parser)
    except StopIteration as done:
        parsed: Frame = done.value
        return parsed
