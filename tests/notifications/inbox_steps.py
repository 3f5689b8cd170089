"""Steps shared by the inbox scenarios: an in-app message, and a subscription known to be live."""

from __future__ import annotations

from models.notifications import Notification, channel_for, notify
from realtime.broker import get_broker
from tests.fixtures.graphql_ws import GraphQLSocket


async def turn(account_id: int, ticket: str, **extra: object) -> Notification:
    """A "your turn" message in the app only (no SMS), returned as stored."""
    await notify(
        account_id,
        "queue.your_turn",
        {"patient_name": "王小明", "room": "诊室3", "ticket": ticket},
        dedupe_key=f"turn:{account_id}:{ticket}",
        sms=False,
        **extra,  # type: ignore[arg-type]
    )
    return await Notification.get(dedupe_key=f"turn:{account_id}:{ticket}")


async def until_subscribed(socket: GraphQLSocket, operation_id: str, account_id: int) -> None:
    """Publishes a probe until the subscription answers: the server registers it asynchronously."""
    probe = await turn(account_id, "PROBE")
    await Notification.filter(id=probe.id).update(published_at=probe.created_at)  # not the dispatcher's
    for _ in range(100):
        await get_broker().publish(channel_for(account_id), {"id": probe.id})
        try:
            data = await socket.next_data(operation_id, "notifications", within=0.1)
        except TimeoutError:
            continue
        assert data["body"].endswith("PROBE号到诊室3就诊。")
        return
    raise AssertionError("the subscription never answered")
