"""Expiry against a late payment, in both orders of arrival and at once: never a paid booking without
a seat, never a seat without payment; late money is refunded automatically, once, with the reason."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gualema.settings import Settings
from models.booking import Booking, BookingStatus
from models.errors import InvalidTransition
from models.payments import PaymentEvent, PaymentStatus, Refund, RefundStatus
from models.scheduling import Slot
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import (
    OPENID,
    expire_hold,
    pay_booking,
    run_payment_work,
    status_changes,
    the_order,
)


async def assert_money_and_seat_agree(held: factories.HeldBooking) -> None:
    booking = await Booking.get(id=held.booking.id)
    order = await the_order(held.booking)
    seat_taken = (await Slot.get(id=held.slot.id)).remaining == 0
    kept_money = order.status is PaymentStatus.PAID
    assert seat_taken == (booking.status is BookingStatus.CONFIRMED)
    assert kept_money == (booking.status is BookingStatus.CONFIRMED)


async def test_payment_after_expiry_is_refunded_once_with_the_reason(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await factories.held_booking(fee=1500)
    number = (await pay_booking(gql, held, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]
    await expire_hold(held.booking)

    reply = await providers.wechat.notify_paid(number)
    await run_payment_work(settings)
    await run_payment_work(settings)  # a second round (another process) refunds nothing more

    assert reply.status_code == 204
    order = await the_order(held.booking)
    assert order.status is PaymentStatus.REFUNDED
    assert await status_changes(order) == [
        ("created", "paid"),
        ("paid", "refunding"),
        ("refunding", "refunded"),
    ]
    refund = await Refund.get(order_id=order.id)
    assert (refund.amount, refund.status, refund.reason) == (
        1500,
        RefundStatus.SUCCEEDED,
        "late payment: booking is expired",
    )
    assert [(r.out_refund_no, r.amount) for r in providers.wechat.refunds.values()] == [
        (refund.out_refund_no, 1500)
    ]
    assert await PaymentEvent.filter(order_id=order.id, kind="late_payment").count() == 1
    assert (await Booking.get(id=held.booking.id)).status is BookingStatus.EXPIRED
    assert (await Slot.get(id=held.slot.id)).remaining == 1


async def test_payment_before_expiry_keeps_the_seat(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await factories.held_booking(fee=1500)
    number = (await pay_booking(gql, held, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]

    await providers.wechat.notify_paid(number)
    with pytest.raises(InvalidTransition):
        await expire_hold(held.booking)
    await run_payment_work(settings)

    assert (await Booking.get(id=held.booking.id)).status is BookingStatus.CONFIRMED
    assert (await the_order(held.booking)).status is PaymentStatus.PAID
    assert providers.wechat.refunds == {}
    await assert_money_and_seat_agree(held)


async def test_expiry_and_payment_at_the_same_moment(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    bookings = [await factories.held_booking(fee=1500) for _ in range(6)]
    numbers = [
        (await pay_booking(gql, held, "WECHAT_PAY", OPENID))["order"]["outTradeNo"] for held in bookings
    ]

    async def expire(held: factories.HeldBooking) -> None:
        with contextlib.suppress(InvalidTransition):  # the payment won
            await expire_hold(held.booking)

    await asyncio.gather(
        *(
            step
            for held, number in zip(bookings, numbers, strict=True)
            for step in (expire(held), providers.wechat.notify_paid(number))
        )
    )
    await run_payment_work(settings)

    for held in bookings:
        await assert_money_and_seat_agree(held)
    refunded = {n.out_trade_no for n in providers.wechat.refunds.values()}
    expired = {
        o.out_trade_no
        for held in bookings
        if (o := await the_order(held.booking)).status is PaymentStatus.REFUNDED
    }
    assert refunded == expired
