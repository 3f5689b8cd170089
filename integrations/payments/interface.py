"""The small interface every payment provider adapter implements.

Adapters speak their provider's wire format and verify its signatures; they know nothing of our
tables. Amounts are integer fen on this side of the interface, whatever the provider's spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol


class TradeStatus(StrEnum):
    NOTPAY = "NOTPAY"
    SUCCESS = "SUCCESS"
    CLOSED = "CLOSED"
    PAYERROR = "PAYERROR"
    NOT_FOUND = "NOT_FOUND"  # the provider has no such trade (Alipay before the payer opens it)


class RefundState(StrEnum):
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    NOT_FOUND = "NOT_FOUND"  # the provider never received this refund number


class CloseOutcome(StrEnum):
    CLOSED = "CLOSED"
    ALREADY_PAID = "ALREADY_PAID"


class ProviderError(Exception):
    """The provider could not be reached or answered something we cannot use; retry later."""


class InvalidNotification(Exception):
    """A notification we must not act on (bad signature, unknown key, stale, wrong merchant ...)."""


@dataclass(frozen=True)
class OrderRequest:
    out_trade_no: str
    amount: int  # fen
    description: str
    expires_at: datetime
    payer_openid: str = ""
    # WeChat's prepay_id from an earlier create of this order: the client parameters are re-signed
    # locally instead of asking the provider again.
    known_prepay_id: str = ""


@dataclass(frozen=True)
class ClientPayment:
    """What the client needs to pay; exactly one of the three is set."""

    pay_page_url: str | None = None
    request_payment: dict[str, str] | None = None  # WeChat mini-program wx.requestPayment(...)
    order_string: str | None = None  # Alipay app/mini-program SDK
    prepay_id: str = ""


@dataclass(frozen=True)
class Trade:
    out_trade_no: str
    status: TradeStatus
    amount: int = 0  # fen, as the provider states it
    trade_no: str = ""
    paid_at: datetime | None = None


@dataclass(frozen=True)
class RefundResult:
    out_refund_no: str
    state: RefundState
    amount: int = 0
    refund_no: str = ""
    out_trade_no: str = ""


@dataclass(frozen=True)
class Notification:
    """A verified notification: a trade state or a refund state, with the raw payload for audit."""

    raw: dict[str, Any]
    trade: Trade | None = None
    refund: RefundResult | None = None


class BillKind(StrEnum):
    PAYMENT = "PAYMENT"
    REFUND = "REFUND"


@dataclass(frozen=True)
class BillLine:
    kind: BillKind
    out_trade_no: str
    amount: int  # fen
    out_refund_no: str = ""
    provider_ref: str = ""


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: bytes = b""
    media_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class PaymentGateway(Protocol):
    name: str
    # The provider refuses to close an order younger than this (WeChat: 5 minutes).
    min_age_before_close: timedelta

    async def create(self, order: OrderRequest) -> ClientPayment: ...

    async def query(self, out_trade_no: str) -> Trade: ...

    async def close(self, out_trade_no: str) -> CloseOutcome: ...

    async def refund(
        self, out_trade_no: str, out_refund_no: str, amount: int, total: int, reason: str
    ) -> RefundResult: ...

    async def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundResult: ...

    def parse_notification(self, headers: dict[str, str], body: bytes) -> Notification: ...

    def success_reply(self) -> Reply: ...

    def failure_reply(self, message: str) -> Reply: ...

    async def bill(self, day: date) -> list[BillLine]: ...


def fen_to_yuan(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


def yuan_to_fen(text: str) -> int:
    whole, _, fraction = text.strip().partition(".")
    if not whole.lstrip("-").isdigit() or len(fraction) > 2 or (fraction and not fraction.isdigit()):
        raise ValueError(f"not an amount in yuan: {text!r}")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((fraction + "00")[:2]))
