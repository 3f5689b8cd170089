"""The WeChat Pay v3 adapter against the fake WeChat server: signed requests, verified responses."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from gualema.settings import Settings
from integrations.payments.interface import (
    BillKind,
    CloseOutcome,
    InvalidNotification,
    OrderRequest,
    ProviderError,
    RefundState,
    TradeStatus,
)
from integrations.payments.keys import private_pem, public_pem
from integrations.payments.wechat.client import WeChatPay
from tests.payments.fakes import Providers

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


def wechat(settings: Settings) -> WeChatPay:
    adapter = settings.payment_providers().gateway("wechat_pay")
    assert isinstance(adapter, WeChatPay)
    return adapter


def order(number: str, amount: int = 1500) -> OrderRequest:
    return OrderRequest(number, amount, "挂号费", datetime.now(UTC) + timedelta(minutes=15), OPENID)


async def test_an_order_is_created_queried_paid_and_refunded(
    settings: Settings, providers: Providers
) -> None:
    client = wechat(settings)

    payment = await client.create(order("W1"))
    before = await client.query("W1")
    providers.wechat.pay("W1")
    after = await client.query("W1")
    first = await client.refund("W1", "W1R1", 1500, 1500, "停诊")
    again = await client.refund("W1", "W1R1", 1500, 1500, "停诊")
    over = await client.refund("W1", "W1R2", 1, 1500, "more")
    queried = await client.query_refund("W1", "W1R1")

    assert payment.request_payment is not None
    assert payment.request_payment["package"] == f"prepay_id={payment.prepay_id}"
    assert before.status is TradeStatus.NOTPAY
    assert (after.status, after.amount) == (TradeStatus.SUCCESS, 1500)
    assert after.trade_no == providers.wechat.orders["W1"].transaction_id
    assert (first.state, again.state, over.state) == (
        RefundState.SUCCESS,
        RefundState.SUCCESS,
        RefundState.FAILED,
    )
    assert first.refund_no == again.refund_no
    assert (queried.state, queried.amount) == (RefundState.SUCCESS, 1500)
    assert list(providers.wechat.refunds) == ["W1R1"]
    assert providers.wechat.rejected_requests == []


async def test_closing_respects_payment_and_unknown_orders(settings: Settings, providers: Providers) -> None:
    client = wechat(settings)
    await client.create(order("W2"))
    await client.create(order("W3"))
    for number in ("W2", "W3"):
        providers.wechat.orders[number].created_at -= timedelta(minutes=6)
    providers.wechat.pay("W3")

    assert await client.close("W2") is CloseOutcome.CLOSED
    assert await client.close("W3") is CloseOutcome.ALREADY_PAID
    assert (await client.query("W2")).status is TradeStatus.CLOSED
    assert (await client.query("NOPE")).status is TradeStatus.NOT_FOUND


async def test_requests_signed_with_another_key_are_refused(settings: Settings, providers: Providers) -> None:
    client = wechat(settings)
    forged = WeChatPay(
        client.config.__class__(
            **{**client.config.__dict__, "private_key_pem": private_pem(providers.other_key)}
        )
    )

    with pytest.raises(ProviderError, match="refused the order: SIGN_ERROR"):
        await forged.create(order("W4"))
    assert providers.wechat.rejected_requests == ["/v3/pay/transactions/jsapi"]


async def test_responses_not_signed_by_the_platform_key_are_not_believed(
    settings: Settings, providers: Providers
) -> None:
    client = wechat(settings)
    distrustful = WeChatPay(
        client.config.__class__(
            **{
                **client.config.__dict__,
                "platform_public_keys": (
                    (providers.wechat.platform_serial, public_pem(providers.other_key.public_key())),
                ),
            }
        )
    )

    with pytest.raises(ProviderError, match="response not verified: signature does not verify"):
        await distrustful.query("W5")


async def test_notifications_are_verified_and_decrypted(settings: Settings, providers: Providers) -> None:
    client = wechat(settings)
    fake = providers.wechat
    await client.create(order("W6"))
    fake.pay("W6")
    body = fake.payment_notification("W6")

    note = client.parse_notification(fake.signed_headers(body), body)

    assert note.trade is not None
    assert (note.trade.out_trade_no, note.trade.status, note.trade.amount) == (
        "W6",
        TradeStatus.SUCCESS,
        1500,
    )
    assert note.raw["resource"]["transaction_id"] == fake.orders["W6"].transaction_id
    with pytest.raises(InvalidNotification, match="missing Wechatpay"):
        client.parse_notification({}, body)
    with pytest.raises(InvalidNotification, match="timestamp outside"):
        client.parse_notification(fake.signed_headers(body, timestamp=int(time.time()) + 600), body)
    with pytest.raises(InvalidNotification, match="signature does not verify"):
        client.parse_notification(fake.signed_headers(body), body.replace(b"TRANSACTION", b"TRANSACTIOn"))
    assert client.success_reply().status_code == 204
    assert client.failure_reply("bad").body == b'{"code": "FAIL", "message": "bad"}'


async def test_the_trade_bill_lists_payments_and_refunds(settings: Settings, providers: Providers) -> None:
    client = wechat(settings)
    await client.create(order("W7", 2500))
    providers.wechat.pay("W7")
    await client.refund("W7", "W7R1", 1000, 2500, "部分退款")
    today = datetime.now(UTC).astimezone(settings.tz).date()

    lines = await client.bill(today)
    empty = await client.bill(date(2020, 1, 1))

    assert [(line.kind, line.out_trade_no, line.amount, line.out_refund_no) for line in lines] == [
        (BillKind.PAYMENT, "W7", 2500, ""),
        (BillKind.REFUND, "W7", 1000, "W7R1"),
    ]
    assert empty == []
