"""The Alipay adapter against the fake Alipay gateway: RSA2 both ways, notifications, the zipped bill."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import pytest

from gualema.settings import Settings
from integrations.payments.alipay.client import Alipay
from integrations.payments.interface import (
    BillKind,
    CloseOutcome,
    InvalidNotification,
    OrderRequest,
    RefundState,
    TradeStatus,
)
from tests.payments.fakes import Providers


def alipay(settings: Settings) -> Alipay:
    adapter = settings.payment_providers().gateway("alipay")
    assert isinstance(adapter, Alipay)
    return adapter


def order(number: str, amount: int = 1500) -> OrderRequest:
    return OrderRequest(number, amount, "挂号费", datetime.now(UTC) + timedelta(minutes=15))


async def test_an_order_string_is_paid_queried_and_refunded_once(
    settings: Settings, providers: Providers
) -> None:
    client = alipay(settings)
    payment = await client.create(order("A1", 1999))
    assert payment.order_string is not None

    unopened = await client.query("A1")
    providers.alipay.pay(payment.order_string)
    paid = await client.query("A1")
    first = await client.refund("A1", "A1R1", 1999, 1999, "停诊")
    again = await client.refund("A1", "A1R1", 1999, 1999, "停诊")
    over = await client.refund("A1", "A1R2", 1, 1999, "more")
    queried = await client.query_refund("A1", "A1R1")

    assert unopened.status is TradeStatus.NOT_FOUND
    assert (paid.status, paid.amount) == (TradeStatus.SUCCESS, 1999)
    assert (first.state, again.state, over.state) == (
        RefundState.SUCCESS,
        RefundState.SUCCESS,
        RefundState.FAILED,
    )
    assert (queried.state, queried.amount) == (RefundState.SUCCESS, 1999)
    assert [r.amount for r in providers.alipay.refunds.values()] == [1999]
    assert providers.alipay.rejected_requests == []


async def test_closing(settings: Settings, providers: Providers) -> None:
    client = alipay(settings)
    opened = await client.create(order("A2"))
    paid = await client.create(order("A3"))
    assert opened.order_string is not None
    assert paid.order_string is not None
    providers.alipay.open_order_string(opened.order_string)
    providers.alipay.pay(paid.order_string)

    assert await client.close("A2") is CloseOutcome.CLOSED
    assert await client.close("A3") is CloseOutcome.ALREADY_PAID
    assert await client.close("NEVER-OPENED") is CloseOutcome.CLOSED
    assert (await client.query("A2")).status is TradeStatus.CLOSED


async def test_notifications_are_verified(settings: Settings, providers: Providers) -> None:
    client = alipay(settings)
    payment = await client.create(order("A4"))
    assert payment.order_string is not None
    providers.alipay.pay(payment.order_string)
    form = providers.alipay.notification("A4")

    note = client.parse_notification({}, urlencode(form).encode())

    assert note.trade is not None
    assert (note.trade.status, note.trade.amount) == (TradeStatus.SUCCESS, 1500)
    assert note.raw["form"]["notify_type"] == "trade_status_sync"
    with pytest.raises(InvalidNotification, match="sign_type must be RSA2"):
        client.parse_notification({}, urlencode({**form, "sign_type": "RSA"}).encode())
    with pytest.raises(InvalidNotification, match="signature does not verify"):
        client.parse_notification({}, urlencode({**form, "out_trade_no": "A5"}).encode())
    with pytest.raises(InvalidNotification, match="not a form-encoded"):
        client.parse_notification({}, b"\xff\xfe")
    assert client.success_reply().body == b"success"


async def test_the_zipped_bill_lists_payments_and_refunds(settings: Settings, providers: Providers) -> None:
    client = alipay(settings)
    payment = await client.create(order("A6", 3000))
    assert payment.order_string is not None
    providers.alipay.pay(payment.order_string)
    await client.refund("A6", "A6R1", 1000, 3000, "部分退款")
    today = datetime.now(UTC).astimezone(settings.tz).date()

    lines = await client.bill(today)

    assert [(line.kind, line.out_trade_no, line.amount, line.out_refund_no) for line in lines] == [
        (BillKind.PAYMENT, "A6", 3000, ""),
        (BillKind.REFUND, "A6", 1000, "A6R1"),
    ]
    assert await client.bill(date(2020, 1, 1)) == []
