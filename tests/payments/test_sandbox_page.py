"""The sandbox pay page: a payer presses "pay" and the booking is confirmed, with no outside service."""

from __future__ import annotations

import json

from models.booking import Booking, BookingStatus
from models.payments import PaymentStatus
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.payments.operations import pay_booking, the_order


async def test_pressing_pay_confirms_the_booking(gql: GraphQLClient) -> None:
    held = await factories.held_booking(fee=1500)
    url = (await pay_booking(gql, held))["payPageUrl"]
    path = url.split("://", 1)[1].split("/", 1)[1]

    page = await gql.http.get(f"/{path}")
    pressed = await gql.http.post(f"/{path}/pay", follow_redirects=True)
    pressed_again = await gql.http.post(f"/{path}/pay", follow_redirects=True)

    assert page.status_code == 200
    assert "¥15.00" in page.text
    assert 'id="pay"' in page.text
    assert 'id="fail"' in page.text
    assert '<strong id="status">paid</strong>' in pressed.text
    assert pressed_again.status_code == 200
    assert (await the_order(held.booking)).status is PaymentStatus.PAID
    assert (await Booking.get(id=held.booking.id)).status is BookingStatus.CONFIRMED


async def test_an_unknown_order_has_no_page(gql: GraphQLClient) -> None:
    assert (await gql.http.get("/payments/sandbox/GLM-NOPE")).status_code == 404
    assert (await gql.http.post("/payments/sandbox/GLM-NOPE/pay")).status_code == 404


async def test_a_forged_sandbox_notification_changes_nothing(gql: GraphQLClient) -> None:
    held = await factories.held_booking(fee=1500)
    number = (await pay_booking(gql, held))["order"]["outTradeNo"]
    body = json.dumps(
        {"out_trade_no": number, "trade_no": "X", "status": "SUCCESS", "amount": 1500, "paid_at": None}
    )

    reply = await gql.http.post(
        "/payments/notify/sandbox", content=body, headers={"x-sandbox-signature": "0" * 64}
    )

    assert reply.status_code == 400
    assert (await the_order(held.booking)).status is PaymentStatus.CREATED
