"""Refunds on cancellation and stopped sessions: one number per refund, never twice, never more than
was paid; completed from the refund notification or by asking."""

from __future__ import annotations

from datetime import timedelta

from gualema.settings import Settings
from models.payments import PaymentOrder, PaymentStatus, Refund, RefundStatus, reserve_refund
from resolvers import payments as use_cases
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import (
    OPENID,
    cancel_booking,
    pay_booking,
    run_payment_work,
    status_changes,
    the_order,
)


async def paid_wechat_booking(
    gql: GraphQLClient, providers: Providers, fee: int = 1500
) -> factories.HeldBooking:
    held = await factories.held_booking(fee=fee)
    number = (await pay_booking(gql, held, "WECHAT_PAY", OPENID))["order"]["outTradeNo"]
    assert (await providers.wechat.notify_paid(number)).status_code == 204
    return held


async def test_cancelling_a_paid_booking_refunds_it_once(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await paid_wechat_booking(gql, providers)

    await cancel_booking(held.booking, "patient cancelled")
    await run_payment_work(settings)
    order = await the_order(held.booking)
    # The job is retried (a process died after the provider answered): the same number goes again.
    await use_cases.refund_job(settings, {"booking_id": held.booking.id, "reason": "patient cancelled"})
    await use_cases.refund_order(settings, order.id, "again")

    order = await the_order(held.booking)
    refund = await Refund.get(order_id=order.id)
    assert (order.status, order.refunded_amount) == (PaymentStatus.REFUNDED, 1500)
    assert (refund.amount, refund.reason, refund.status) == (
        1500,
        "patient cancelled",
        RefundStatus.SUCCEEDED,
    )
    assert list(providers.wechat.refunds) == [refund.out_refund_no]
    assert await status_changes(order) == [
        ("created", "paid"),
        ("paid", "refunding"),
        ("refunding", "refunded"),
    ]


async def test_a_retried_refund_reuses_its_number_and_the_provider_refunds_once(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await paid_wechat_booking(gql, providers)
    providers.wechat.refunds_succeed_at_once = False  # WeChat answers PROCESSING

    await cancel_booking(held.booking)
    await run_payment_work(settings)
    order = await the_order(held.booking)
    await use_cases.refund_order(settings, order.id, "retry after a crash")

    refund = await Refund.get(order_id=order.id)
    assert providers.wechat.refund_requests == 2
    assert list(providers.wechat.refunds) == [refund.out_refund_no]
    assert (await the_order(held.booking)).status is PaymentStatus.REFUNDING

    # WeChat's REFUND.SUCCESS notification completes it; its retries change nothing more.
    replies = [await providers.wechat.finish_refund(refund.out_refund_no) for _ in range(3)]

    assert [r.status_code for r in replies] == [204] * 3
    order = await the_order(held.booking)
    assert (order.status, order.refunded_amount) == (PaymentStatus.REFUNDED, 1500)
    assert (await Refund.get(id=refund.id)).status is RefundStatus.SUCCEEDED


async def test_an_unannounced_refund_is_completed_by_asking(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await paid_wechat_booking(gql, providers)
    providers.wechat.refunds_succeed_at_once = False
    await cancel_booking(held.booking)
    await run_payment_work(settings)
    refund = await Refund.get(order_id=(await the_order(held.booking)).id)
    providers.wechat.refunds[refund.out_refund_no].status = "SUCCESS"  # settled, but no notification came
    await Refund.filter(id=refund.id).update(created_at=refund.created_at - timedelta(minutes=2))

    await run_payment_work(settings)

    assert (await the_order(held.booking)).status is PaymentStatus.REFUNDED
    assert (await Refund.get(id=refund.id)).status is RefundStatus.SUCCEEDED


async def test_refunds_never_exceed_the_paid_amount(gql: GraphQLClient, providers: Providers) -> None:
    held = await paid_wechat_booking(gql, providers, fee=1000)
    order = await the_order(held.booking)

    reservations = [
        await reserve_refund(order, 600),
        await reserve_refund(order, 600),
        await reserve_refund(order, 400),
    ]

    assert reservations == [True, False, True]
    assert (await PaymentOrder.get(id=order.id)).refund_reserved == 1000


async def test_the_alipay_refund_is_synchronous_and_once_per_number(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await factories.held_booking(fee=880)
    order_string = (await pay_booking(gql, held, "ALIPAY"))["orderString"]
    assert (await providers.alipay.notify_paid(order_string)).text == "success"

    await cancel_booking(held.booking, "停诊")
    await run_payment_work(settings)
    order = await the_order(held.booking)
    await use_cases.refund_order(settings, order.id, "again")

    refund = await Refund.get(order_id=order.id)
    assert (order.status, order.refunded_amount) == (PaymentStatus.REFUNDED, 880)
    assert [(r.out_request_no, r.amount) for r in providers.alipay.refunds.values()] == [
        (refund.out_refund_no, 880)
    ]


async def test_a_refund_the_provider_never_received_is_sent_again_under_its_number(
    gql: GraphQLClient, providers: Providers, settings: Settings
) -> None:
    held = await paid_wechat_booking(gql, providers)
    providers.wechat.down = True
    await cancel_booking(held.booking)
    await run_payment_work(settings)  # the refund job fails; its row keeps the number for later
    order = await the_order(held.booking)
    refund = await Refund.get(order_id=order.id)
    assert (order.status, refund.status, providers.wechat.refunds) == (
        PaymentStatus.REFUNDING,
        RefundStatus.PROCESSING,
        {},
    )

    providers.wechat.down = False
    await Refund.filter(id=refund.id).update(created_at=refund.created_at - timedelta(minutes=2))
    await run_payment_work(settings)  # asks, hears "no such refund", sends it again

    assert list(providers.wechat.refunds) == [refund.out_refund_no]
    assert (await the_order(held.booking)).status is PaymentStatus.REFUNDED
