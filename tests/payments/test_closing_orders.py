"""Unpaid orders are closed at the provider when the hold lapses, once the provider's minimum age
has passed; an order paid at the last moment is found by the close and handled as a late payment."""

from __future__ import annotations

from datetime import timedelta

from gualema.settings import Settings
from models.booking import Booking, BookingStatus
from models.payments import PaymentStatus
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import OPENID, age_order, expire_hold, pay_booking, run_payment_work, the_order


async def test_an_expired_hold_closes_its_order_after_the_minimum_age(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await factories.held_booking(hold=timedelta(minutes=3))
    number = (await pay_booking(gql, held, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]
    await expire_hold(held.booking)

    await run_payment_work(settings)  # younger than WeChat's 5 minutes: not even asked

    assert (await the_order(held.booking)).status is PaymentStatus.CREATED
    assert providers.wechat.early_close_attempts == 0
    assert providers.wechat.orders[number].state == "NOTPAY"

    # Six minutes later (at WeChat and here) the next round closes it.
    providers.wechat.orders[number].created_at -= timedelta(minutes=6)
    await age_order(await the_order(held.booking), timedelta(minutes=6))
    await run_payment_work(settings)

    order = await the_order(held.booking)
    assert (order.status, order.open_key) == (PaymentStatus.CLOSED, None)
    assert providers.wechat.orders[number].state == "CLOSED"
    assert (await Booking.get(id=held.booking.id)).status is BookingStatus.EXPIRED


async def test_an_order_paid_just_before_the_close_is_refunded(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await factories.held_booking(fee=1500)
    order_string = (await pay_booking(gql, held, "ALIPAY"))["orderString"]
    await expire_hold(held.booking)
    providers.alipay.pay(order_string)  # paid, but the notification has not come yet

    await run_payment_work(settings)  # close -> "already paid" -> query -> paid -> refund job
    await run_payment_work(settings)

    order = await the_order(held.booking)
    assert (order.status, order.refunded_amount) == (PaymentStatus.REFUNDED, 1500)
    assert len(providers.alipay.refunds) == 1


async def test_the_sandbox_closes_at_once_when_the_hold_lapses(
    gql: GraphQLClient, settings: Settings
) -> None:
    held = await factories.held_booking()
    number = (await pay_booking(gql, held))["order"]["outTradeNo"]
    await expire_hold(held.booking)

    await run_payment_work(settings)
    pressed = await gql.http.post(f"/payments/sandbox/{number}/pay")  # too late: the sandbox refuses

    assert pressed.status_code == 303
    assert (await the_order(held.booking)).status is PaymentStatus.CLOSED
