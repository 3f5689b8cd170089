"""Provider notifications: only a verified one that matches our order changes anything, exactly once."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from models.booking import Booking, BookingEvent, BookingStatus
from models.notifications import Notification
from models.payments import PaymentEvent, PaymentStatus
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import OPENID, pay_booking, status_changes, the_order

WECHAT_FAILURE = 400


async def assert_nothing_changed(held: factories.HeldBooking) -> None:
    order = await the_order(held.booking)
    booking = await Booking.get(id=held.booking.id)
    assert (order.status, booking.status) == (PaymentStatus.CREATED, BookingStatus.PENDING_PAYMENT)
    assert await PaymentEvent.filter(order_id=order.id).values_list("kind", flat=True) == ["created"]


async def wechat_order(gql: GraphQLClient, providers: Providers) -> tuple[factories.HeldBooking, str]:
    held = await factories.held_booking(fee=1500)
    result = await pay_booking(gql, held, "WECHAT_PAY", OPENID)
    number = result["order"]["outTradeNo"]
    providers.wechat.pay(number)  # the payer paid; now WeChat tells us
    return held, number


def notify_url(providers: Providers, name: str) -> str:
    return f"{providers.notify_base}/payments/notify/{name}"


@pytest.mark.parametrize(
    ("forgery", "message"),
    [
        ("forged signature", "signature does not verify"),
        ("unknown serial", "unknown platform key serial"),
        ("stale timestamp", "timestamp outside the allowed window"),
        ("wrong amount", "amount 1 does not match the order's 1500"),
        ("wrong app id", "notification for another app id"),
        ("wrong APIv3 key", "resource cannot be decrypted: InvalidTag"),
    ],
)
async def test_an_unverifiable_wechat_notification_changes_nothing(
    gql: GraphQLClient, providers: Providers, forgery: str, message: str
) -> None:
    held, number = await wechat_order(gql, providers)
    fake = providers.wechat
    body = fake.payment_notification(number)
    headers: dict[str, str] | None = None
    if forgery == "forged signature":
        headers = fake.signed_headers(body, key=providers.other_key)
    elif forgery == "unknown serial":
        headers = fake.signed_headers(body, serial="PUB_KEY_ID_UNKNOWN")
    elif forgery == "stale timestamp":
        headers = fake.signed_headers(body, timestamp=int(time.time()) - 600)
    elif forgery == "wrong amount":
        body = fake.payment_notification(number, amount={"total": 1, "payer_total": 1, "currency": "CNY"})
    elif forgery == "wrong app id":
        body = fake.payment_notification(number, appid="wx0000000000000000")
    elif forgery == "wrong APIv3 key":
        envelope = json.loads(body)
        envelope["resource"] = fake.encrypt_resource(
            fake._transaction(fake.orders[number]), "transaction", apiv3_key="k" * 32
        )
        body = json.dumps(envelope).encode()

    reply = await fake.deliver(notify_url(providers, "wechat"), body, headers)

    assert reply.status_code == WECHAT_FAILURE
    assert reply.json() == {"code": "FAIL", "message": message}
    await assert_nothing_changed(held)


async def alipay_order(gql: GraphQLClient, providers: Providers) -> tuple[factories.HeldBooking, str, str]:
    held = await factories.held_booking(fee=1500)
    result = await pay_booking(gql, held, "ALIPAY")
    trade = providers.alipay.pay(result["orderString"])
    return held, trade.out_trade_no, result["orderString"]


@pytest.mark.parametrize(
    "forgery",
    ["forged signature", "wrong app id", "wrong seller id", "wrong amount", "tampered after signing"],
)
async def test_an_unverifiable_alipay_notification_changes_nothing(
    gql: GraphQLClient, providers: Providers, forgery: str
) -> None:
    held, number, _ = await alipay_order(gql, providers)
    fake = providers.alipay
    overrides: dict[str, Any] = {  # type: ignore[assignment]  # one dict per forgery; mypy joins them to object
        "forged signature": {"key": providers.other_key},
        "wrong app id": {"app_id": "2021999999999999"},
        "wrong seller id": {"seller_id": "2088999999999999"},
        "wrong amount": {"total_amount": "0.01"},
        "tampered after signing": {},
    }[forgery]
    form = fake.notification(number, **overrides)
    if forgery == "tampered after signing":
        form["total_amount"] = "0.01"

    reply = await fake.deliver(notify_url(providers, "alipay"), form)

    assert reply.text == "fail"
    await assert_nothing_changed(held)


async def test_a_valid_alipay_notification_confirms_and_is_answered_success(
    gql: GraphQLClient, providers: Providers
) -> None:
    held, number, _ = await alipay_order(gql, providers)

    replies = [
        await providers.alipay.deliver(notify_url(providers, "alipay"), providers.alipay.notification(number))
        for _ in range(3)
    ]

    assert [(r.status_code, r.text) for r in replies] == [(200, "success")] * 3
    order = await the_order(held.booking)
    assert order.status is PaymentStatus.PAID
    assert (await Booking.get(id=held.booking.id)).status is BookingStatus.CONFIRMED
    assert await status_changes(order) == [("created", "paid")]


async def test_an_alipay_wait_buyer_pay_notification_is_acknowledged_and_ignored(
    gql: GraphQLClient, providers: Providers
) -> None:
    held = await factories.held_booking(fee=1500)
    result = await pay_booking(gql, held, "ALIPAY")
    trade = providers.alipay.open_order_string(result["orderString"])

    reply = await providers.alipay.deliver(
        notify_url(providers, "alipay"), providers.alipay.notification(trade.out_trade_no)
    )

    assert reply.text == "success"
    await assert_nothing_changed(held)


async def test_a_notification_delivered_fifteen_times_some_concurrently_confirms_once(
    gql: GraphQLClient, providers: Providers
) -> None:
    held, number = await wechat_order(gql, providers)
    fake = providers.wechat
    url = notify_url(providers, "wechat")

    async def deliver() -> httpx.Response:
        body = fake.payment_notification(number)  # each retry is a fresh envelope, like WeChat's
        return await fake.deliver(url, body)

    first_burst = await asyncio.gather(*(deliver() for _ in range(10)))
    retries = [await deliver() for _ in range(5)]

    assert [r.status_code for r in [*first_burst, *retries]] == [204] * 15
    order = await the_order(held.booking)
    assert order.status is PaymentStatus.PAID
    assert await status_changes(order) == [("created", "paid")]
    confirmations = await BookingEvent.filter(
        booking_id=held.booking.id, to_status=BookingStatus.CONFIRMED
    ).count()
    assert confirmations == 1
    messages = await Notification.filter(booking_id=held.booking.id).values_list("event", flat=True)
    assert messages == ["booking.confirmed"]
