"""The in-app inbox: the notifications query, marking read, and the notifications subscription."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.transactions import in_transaction

from models.notifications import Notification
from resolvers.notifications import publish_in_app
from tests import factories
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import graphql_socket
from tests.notifications.inbox_steps import turn, until_subscribed

INBOX = """
query($first: Int!, $after: String, $unreadOnly: Boolean!) {
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    edges { cursor node { id event title body read bookingId } }
    pageInfo { hasNextPage endCursor }
  }
  unreadNotificationCount
}"""


async def test_a_patient_pages_through_their_own_notifications_newest_first(gql: GraphQLClient) -> None:
    me = await factories.patient_user()
    someone_else = await factories.patient_user()
    for ticket in ("A001", "A002", "A003"):
        await turn(me.id, ticket)
    await turn(someone_else.id, "B001")

    first_page = await gql.as_(me.token).data(INBOX, {"first": 2, "unreadOnly": False})
    first = first_page["notifications"]
    rest = (
        await gql.as_(me.token).data(
            INBOX, {"first": 2, "after": first["pageInfo"]["endCursor"], "unreadOnly": False}
        )
    )["notifications"]

    bodies = [e["node"]["body"] for e in first["edges"] + rest["edges"]]
    assert bodies == [f"王小明，请{t}号到诊室3就诊。" for t in ("A003", "A002", "A001")]
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)
    assert first_page["unreadNotificationCount"] == 3
    assert first["edges"][0]["node"]["title"] == "请就诊"


async def test_marking_read_touches_only_the_callers_rows(gql: GraphQLClient) -> None:
    me = await factories.patient_user()
    other = await factories.patient_user()
    await turn(me.id, "A001")
    await turn(me.id, "A002")
    await turn(other.id, "B001")
    mine = await Notification.filter(account_id=me.id).order_by("id").values_list("id", flat=True)
    theirs = await Notification.get(account_id=other.id)

    marked = await gql.as_(me.token).data(
        "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }", {"ids": [str(mine[0]), str(theirs.id)]}
    )
    unread = (await gql.as_(me.token).data(INBOX, {"first": 10, "unreadOnly": True}))["notifications"]

    assert marked == {"markNotificationsRead": 1}
    assert [e["node"]["id"] for e in unread["edges"]] == [str(mine[1])]
    assert (await Notification.get(id=theirs.id)).read_at is None

    everything = await gql.as_(me.token).data("mutation { markAllNotificationsRead }")
    assert everything == {"markAllNotificationsRead": 1}
    assert await gql.as_(me.token).data(INBOX, {"first": 10, "unreadOnly": True}) == {
        "notifications": {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}},
        "unreadNotificationCount": 0,
    }


async def test_a_cursor_from_another_list_is_refused(gql: GraphQLClient) -> None:
    me = await factories.patient_user()
    body = await gql.as_(me.token)(INBOX, {"first": 5, "after": "YWNjb3VudDox", "unreadOnly": False})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_the_inbox_needs_a_login(gql: GraphQLClient) -> None:
    body = await gql(INBOX, {"first": 5, "unreadOnly": False})
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_a_committed_notification_is_pushed_to_its_account_only(live_server: LiveServer) -> None:
    me = await factories.patient_user()
    other = await factories.patient_user()
    async with graphql_socket(live_server.ws_url, me.token) as socket:
        operation = await socket.subscribe("subscription { notifications { event body read } }")
        await until_subscribed(socket, operation, me.id)

        async with in_transaction():
            await turn(other.id, "B009")
            await turn(me.id, "A009", booking_id=None)
        assert await publish_in_app() == 2

        pushed = await socket.next_data(operation, "notifications")
        assert pushed == {"event": "queue.your_turn", "body": "王小明，请A009号到诊室3就诊。", "read": False}
        assert await publish_in_app() == 0  # published once
        try:
            extra = await socket.next_payload(operation, within=0.3)
        except TimeoutError:
            extra = None
        assert extra is None


@pytest.mark.usefixtures("live_server")
async def test_a_rolled_back_notification_is_never_pushed() -> None:
    me = await factories.patient_user()

    class Abandoned(Exception):
        pass

    try:
        async with in_transaction():
            await turn(me.id, "A010")
            raise Abandoned()
    except Abandoned:
        pass
    assert await asyncio.wait_for(publish_in_app(), 5) == 0
