"""payBooking: one open order per booking, amount from the fee, deadline = the hold, client payload
per provider."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest

from gualema.settings import Settings
from integrations.payments.alipay.signing import content_to_sign
from integrations.payments.keys import load_public_key, public_pem, verify_sha256_rsa
from models.payments import PaymentOrder, PaymentStatus
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.payments.fakes import Providers
from tests.payments.operations import OPENID, pay_booking, the_order


async def test_sandbox_payment_returns_the_pay_page_of_one_order(
    gql: GraphQLClient, settings: Settings
) -> None:
    held = await factories.held_booking(fee=1500)

    first = await pay_booking(gql, held)
    again = await pay_booking(gql, held, provider=None)  # SANDBOX is the default

    order = await the_order(held.booking)
    assert first["__typename"] == "SandboxPayment"
    assert first["payPageUrl"] == f"{settings.public_base_url}/payments/sandbox/{order.out_trade_no}"
    assert first["order"] == {
        "id": str(order.id),
        "outTradeNo": order.out_trade_no,
        "amount": 1500,
        "status": "CREATED",
        "provider": "SANDBOX",
    }
    assert again == first
    assert order.expires_at == held.booking.expires_at
    assert await PaymentOrder.all().count() == 1


async def test_a_hundred_concurrent_pay_booking_calls_give_one_order(gql: GraphQLClient) -> None:
    held = await factories.held_booking()

    results = await asyncio.gather(*(pay_booking(gql, held) for _ in range(100)))

    assert {r["__typename"] for r in results} == {"SandboxPayment"}
    assert len({r["order"]["outTradeNo"] for r in results}) == 1
    assert await PaymentOrder.filter(booking_id=held.booking.id).count() == 1


async def test_wechat_payment_returns_signed_request_payment_parameters(
    gql: GraphQLClient, providers: Providers
) -> None:
    held = await factories.held_booking(fee=2000)

    result = await pay_booking(gql, held, "WECHAT_PAY", OPENID)

    order = await the_order(held.booking)
    fake_order = providers.wechat.orders[order.out_trade_no]
    assert result["__typename"] == "WeChatPayment"
    assert result["package"] == f"prepay_id={fake_order.prepay_id}"
    assert (result["appId"], result["signType"]) == (providers.wechat.appid, "RSA")
    message = (
        f"{result['appId']}\n{result['timeStamp']}\n{result['nonceStr']}\n{result['package']}\n".encode()
    )
    assert verify_sha256_rsa(providers.wechat.merchant_public_key, message, result["paySign"])
    assert (fake_order.amount, fake_order.openid) == (2000, OPENID)
    assert fake_order.notify_url == f"{providers.notify_base}/payments/notify/wechat"
    assert order.prepay_id == fake_order.prepay_id


async def test_alipay_payment_returns_a_signed_order_string(gql: GraphQLClient, providers: Providers) -> None:
    held = await factories.held_booking(fee=1234)

    result = await pay_booking(gql, held, "ALIPAY")

    assert result["__typename"] == "AlipayPayment"
    params = dict(parse_qsl(result["orderString"]))
    key = load_public_key(factories_app_public_pem(providers))
    assert verify_sha256_rsa(key, content_to_sign(params, drop_sign_type=False).encode(), params["sign"])
    assert params["method"] == "alipay.trade.app.pay"
    assert '"total_amount":"12.34"' in params["biz_content"]
    assert providers.alipay.open_order_string(result["orderString"]).amount == 1234


def factories_app_public_pem(providers: Providers) -> str:
    return public_pem(providers.alipay.app_public_key)


@pytest.mark.usefixtures("providers")
async def test_another_method_while_an_order_is_open_is_refused(gql: GraphQLClient) -> None:
    held = await factories.held_booking()
    await pay_booking(gql, held, "SANDBOX")

    result = await pay_booking(gql, held, "ALIPAY")

    assert result == {
        "__typename": "OpenOrderWithOtherProviderError",
        "provider": "SANDBOX",
        "message": "a payment with another method is open for this booking; finish it or wait for it "
        "to lapse",
    }


async def test_bookings_that_cannot_be_paid(gql: GraphQLClient) -> None:
    free = await factories.held_booking(fee=0)
    lapsed = await factories.held_booking(hold=timedelta(seconds=-1))
    held = await factories.held_booking()
    stranger = await factories.patient_user()

    results = [
        await pay_booking(gql, free),
        await pay_booking(gql, lapsed),
        await pay_booking(gql, factories.HeldBooking(stranger, held.booking, held.slot)),
    ]

    assert [(r["__typename"], r["message"]) for r in results] == [
        ("NothingToPayError", "this booking has no fee to pay"),
        ("BookingNotPayableError", "the hold on this booking has lapsed"),
        ("NotFoundError", "no such booking"),
    ]
    assert await PaymentOrder.all().count() == 0


async def test_a_failed_payment_frees_the_booking_for_a_new_order(gql: GraphQLClient) -> None:
    held = await factories.held_booking()
    first = await pay_booking(gql, held)
    number = first["order"]["outTradeNo"]

    pressed = await gql.http.post(f"/payments/sandbox/{number}/fail")
    second = await pay_booking(gql, held)

    assert pressed.status_code == 303
    assert (await PaymentOrder.get(out_trade_no=number)).status is PaymentStatus.FAILED
    assert second["order"]["outTradeNo"] != number
    assert second["order"]["status"] == "CREATED"


async def test_a_provider_that_is_not_configured_is_unavailable(
    gql: GraphQLClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = await factories.held_booking()
    monkeypatch.setattr(settings, "payment_sandbox_enabled", False)

    result = await pay_booking(gql, held, "SANDBOX")

    assert result == {
        "__typename": "PaymentProviderUnavailableError",
        "message": "this payment method is not available",
    }


async def test_a_patient_sees_only_their_own_payment_orders(gql: GraphQLClient) -> None:
    held = await factories.held_booking(fee=1500)
    stranger = await factories.patient_user()
    number = (await pay_booking(gql, held))["order"]["outTradeNo"]
    query = "query($id: ID!) { bookingPayments(bookingId: $id) { outTradeNo amount status provider paidAt } }"

    mine = await gql.as_(held.owner.token).data(query, {"id": str(held.booking.id)})
    theirs = await gql.as_(stranger.token).data(query, {"id": str(held.booking.id)})

    assert mine == {
        "bookingPayments": [
            {"outTradeNo": number, "amount": 1500, "status": "CREATED", "provider": "SANDBOX", "paidAt": None}
        ]
    }
    assert theirs == {"bookingPayments": []}
