"""What the payments scenarios do, in the words of the client, the provider and the clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models.booking import Booking, BookingStatus
from models.payments import PaymentEvent, PaymentOrder, PaymentProvider, PaymentStatus
from models.reactions import change_booking
from resolvers import payments as use_cases
from tests import factories
from tests.factories import HeldBooking
from tests.fixtures.api import GraphQLClient

PAY_BOOKING = """
mutation Pay($bookingId: ID!, $provider: PaymentProvider, $openId: String) {
  payBooking(bookingId: $bookingId, provider: $provider, wechatOpenId: $openId) {
    __typename
    ... on SandboxPayment { payPageUrl order { id outTradeNo amount status provider } }
    ... on WeChatPayment {
      appId timeStamp nonceStr package signType paySign order { id outTradeNo amount status }
    }
    ... on AlipayPayment { orderString order { id outTradeNo amount status } }
    ... on Error { message }
    ... on OpenOrderWithOtherProviderError { provider }
  }
}
"""

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


async def pay_booking(
    gql: GraphQLClient, held: HeldBooking, provider: str | None = "SANDBOX", open_id: str | None = None
) -> dict[str, Any]:
    data = await gql.as_(held.owner.token).data(
        PAY_BOOKING, {"bookingId": str(held.booking.id), "provider": provider, "openId": open_id}
    )
    result: dict[str, Any] = data["payBooking"]
    return result


async def expire_hold(booking: Booking) -> None:
    """The booking engine's expiry sweep, for one booking (the same `transition` it calls)."""
    async with in_transaction():
        fresh = await Booking.get(id=booking.id)
        await change_booking(fresh, BookingStatus.EXPIRED, actor_id=None, reason="hold lapsed")


async def cancel_booking(booking: Booking, reason: str = "patient cancelled") -> None:
    async with in_transaction():
        fresh = await Booking.get(id=booking.id)
        await change_booking(fresh, BookingStatus.CANCELLED, actor_id=None, reason=reason)


async def the_order(booking: Booking) -> PaymentOrder:
    return await PaymentOrder.get(booking_id=booking.id)


async def status_changes(order: PaymentOrder) -> list[tuple[str | None, str | None]]:
    rows = await PaymentEvent.filter(order_id=order.id, kind="status").order_by("id")
    return [(row.from_status, row.to_status) for row in rows]


async def age_order(order: PaymentOrder, by: timedelta) -> None:
    await PaymentOrder.filter(id=order.id).update(created_at=order.created_at - by)


async def run_payment_work(settings: Settings) -> int:
    """One round of the periodic payments job, as every server process runs it."""
    return await use_cases.work(settings)


async def order_in(status: PaymentStatus, number: str) -> PaymentOrder:
    """An order put straight into `status`, for walking the transition tables."""
    held = await factories.held_booking()
    assert held.booking.expires_at is not None
    return await PaymentOrder.create(
        booking_id=held.booking.id,
        account_id=held.owner.id,
        provider=PaymentProvider.SANDBOX,
        out_trade_no=number,
        amount=1500,
        status=status,
        expires_at=held.booking.expires_at,
        open_key=number if status is PaymentStatus.CREATED else None,
    )
