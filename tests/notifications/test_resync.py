"""Streams that can lose messages during a broker outage (pub/sub is at-most-once) catch up when the
broker reconnects (issue 13.7): the notifications stream delivers what was published while it could
not hear, once; myWaitlist sends a fresh snapshot."""

from __future__ import annotations

from models.notifications import channel_for
from models.waitlist import WaitlistEntry, WaitlistStatus
from realtime.broker import get_broker
from tests import factories
from tests.fixtures.api import GraphQLClient, LiveServer
from tests.fixtures.graphql_ws import graphql_socket
from tests.fixtures.outage import broker_outage
from tests.notifications.inbox_steps import turn, until_subscribed
from tests.waitlist.scenario import full_session, join, person

NOTIFICATIONS = "subscription { notifications { id body } }"
MY_WAITLIST = "subscription { myWaitlist { id status } }"


async def test_a_notification_published_during_an_outage_arrives_after_it_once(
    live_server: LiveServer,
) -> None:
    me = await factories.patient_user()
    async with graphql_socket(live_server.ws_url, me.token) as socket:
        operation = await socket.subscribe(NOTIFICATIONS)
        await until_subscribed(socket, operation, me.id)

        # Given a notification committed while the broker could not deliver it (its publish was lost)
        lost = await turn(me.id, "A011")

        # When the broker reconnects
        await broker_outage()

        # Then the stream delivers it, and a late duplicate of its message delivers nothing more
        pushed = await socket.next_data(operation, "notifications")
        assert pushed == {"id": str(lost.id), "body": "王小明，请A011号到诊室3就诊。"}
        await get_broker().publish(channel_for(me.id), {"id": lost.id})
        after = await turn(me.id, "A012")
        await get_broker().publish(channel_for(me.id), {"id": after.id})
        assert (await socket.next_data(operation, "notifications"))["id"] == str(after.id)


async def test_my_waitlist_sends_a_fresh_snapshot_after_an_outage(
    gql: GraphQLClient, live_server: LiveServer
) -> None:
    schedule, _, _ = await full_session(gql, seats=1)
    waiter = await person("候补者")
    joined = await join(gql, waiter, scheduleId=str(schedule.id))
    async with graphql_socket(live_server.ws_url, waiter.actor.token) as socket:
        operation = await socket.subscribe(MY_WAITLIST)
        assert await socket.next_data(operation, "myWaitlist") == [{"id": joined["id"], "status": "WAITING"}]

        # Given a change committed whose message was lost in the outage
        await WaitlistEntry.filter(id=int(joined["id"])).update(status=WaitlistStatus.LEFT)

        # When the broker reconnects, then the client gets the state as it is now
        await broker_outage()
        assert await socket.next_data(operation, "myWaitlist") == [{"id": joined["id"], "status": "LEFT"}]
