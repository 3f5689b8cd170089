"""Payment orders, refunds and their audit trail.

A payment order is an explicit state machine: `TRANSITIONS` is its one table and `transition_order`
the one function that changes its status (a conditional UPDATE, so of two concurrent deliveries of
the same notification exactly one changes anything). Every change writes a `PaymentEvent` with the raw
provider payload, kept for disputes.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.expressions import F
from tortoise.models import Model

from models.clock import utcnow
from models.errors import DomainError, InvalidTransition, writable_updates

# The payments' durable jobs (models/jobs.py), defined once: a paid booking cancelled (refund), an
# unpaid order whose booking or waitlist entry went away (close at the provider), a prepaid waitlist
# entry that ended without a seat (refund its fee).
PAYMENT_REFUND = "payment.refund"
PAYMENT_CLOSE = "payment.close"
WAITLIST_REFUND = "waitlist.refund"


class PaymentProvider(StrEnum):
    SANDBOX = "sandbox"
    WECHAT_PAY = "wechat_pay"
    ALIPAY = "alipay"


class PaymentStatus(StrEnum):
    CREATED = "created"
    PAID = "paid"
    CLOSED = "closed"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    FAILED = "failed"


P = PaymentStatus

# The one transition table of the payment order.
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    P.CREATED: frozenset({P.PAID, P.CLOSED, P.FAILED}),
    # Money is refunded in full, once: PAID -> REFUNDING -> REFUNDED. A refund the provider rejects
    # puts the order back to PAID so that a new refund (with a new number) can be tried.
    P.PAID: frozenset({P.REFUNDING}),
    P.REFUNDING: frozenset({P.REFUNDED, P.PAID}),
    P.REFUNDED: frozenset(),
    # The provider's word wins over ours: a payment it reports on an order we closed or saw fail is
    # money taken, so the order becomes PAID (and, with no seat behind it, is refunded).
    P.CLOSED: frozenset({P.PAID}),
    P.FAILED: frozenset({P.PAID, P.CLOSED}),
}

# Orders a client may still pay; at most one per booking or waitlist entry (`open_key`).
OPEN = frozenset({P.CREATED})


class RefundStatus(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentOrder(Model):
    id = fields.IntField(primary_key=True)
    booking_id: int | None
    waitlist_entry_id: int | None
    # An order pays for a booking, or for joining a prepaid waitlist (booking NULL until a seat is
    # given, when the entry's order is attached to the new booking: decision 090).
    booking: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Booking", related_name="payment_orders", on_delete=fields.RESTRICT, null=True
    )
    waitlist_entry: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.WaitlistEntry", related_name="payment_orders", on_delete=fields.RESTRICT, null=True
    )
    account_id = fields.IntField(db_index=True)
    provider = fields.CharEnumField(PaymentProvider, max_length=16)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    amount = fields.IntField()  # fen
    status = fields.CharEnumField(PaymentStatus, max_length=16, db_index=True)
    expires_at = fields.DatetimeField(db_index=True)  # payment deadline = the booking's hold
    # Set while the order is open and NULL afterwards: one open order per booking (the booking id)
    # and per waitlist entry ("w" + entry id) across processes, enforced by the unique index
    # (unique indexes ignore NULLs).
    open_key = fields.CharField(max_length=32, null=True, unique=True)
    payer_openid = fields.CharField(max_length=64, default="")
    prepay_id = fields.CharField(max_length=128, default="")  # WeChat's handle for requestPayment
    provider_trade_no = fields.CharField(max_length=64, default="")
    paid_amount = fields.IntField(default=0)
    paid_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    # Sum of refunds started (reserved before the provider is asked); never above `amount`.
    refund_reserved = fields.IntField(default=0)
    refunded_amount = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "payment_order"


class Refund(Model):
    id = fields.IntField(primary_key=True)
    order_id: int
    order: fields.ForeignKeyRelation[PaymentOrder] = fields.ForeignKeyField(
        "models.PaymentOrder", related_name="refunds", on_delete=fields.RESTRICT
    )
    # One number per refund: a retried request with the same number never refunds twice.
    out_refund_no = fields.CharField(max_length=64, unique=True)
    amount = fields.IntField()  # fen
    reason = fields.CharField(max_length=255)
    status = fields.CharEnumField(RefundStatus, max_length=16, db_index=True)
    provider_refund_no = fields.CharField(max_length=64, default="")
    succeeded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "payment_refund"


class PaymentEvent(Model):
    # The audit trail: every order transition and every refund change, with the raw provider payload.
    id = fields.BigIntField(primary_key=True)
    order_id: int
    order: fields.ForeignKeyRelation[PaymentOrder] = fields.ForeignKeyField(
        "models.PaymentOrder", related_name="events", on_delete=fields.RESTRICT
    )
    refund_id = fields.IntField(null=True)
    kind = fields.CharField(max_length=32)
    from_status = fields.CharField(max_length=16, null=True)
    to_status = fields.CharField(max_length=16, null=True)
    reason = fields.CharField(max_length=255, default="")
    payload: Any = fields.JSONField(null=True)  # the raw provider payload
    at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "payment_event"


class SandboxTrade(Model):
    # The built-in sandbox provider's own ledger (its side of the bill), apart from our orders.
    id = fields.IntField(primary_key=True)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    amount = fields.IntField()
    status = fields.CharField(max_length=16)  # NOTPAY, SUCCESS, CLOSED, PAYERROR
    trade_no = fields.CharField(max_length=64)
    paid_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sandbox_trade"


class SandboxRefund(Model):
    id = fields.IntField(primary_key=True)
    out_refund_no = fields.CharField(max_length=64, unique=True)
    out_trade_no = fields.CharField(max_length=32, db_index=True)
    amount = fields.IntField()
    refund_no = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sandbox_refund"


class NothingToPay(DomainError):
    default_message = "this booking has no fee to pay"


class BookingNotPayable(DomainError):
    default_message = "this booking is not waiting for payment"


class PaymentProviderUnavailable(DomainError):
    default_message = "this payment method is not available"


class OpenOrderWithOtherProvider(DomainError):
    default_message = (
        "a payment with another method is open for this booking; finish it or wait for it to lapse"
    )

    def __init__(self, provider: str) -> None:
        super().__init__(provider=provider)


class WaitlistEntryNotPayable(DomainError):
    default_message = "this waitlist entry is not waiting for its fee"


class RefundExceedsPaid(DomainError):
    default_message = "refunds would exceed the amount paid"


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in TRANSITIONS[current]


def new_out_trade_no() -> str:
    # Unique per order, at most 32 characters from [0-9A-Za-z_-] (WeChat's rule; Alipay allows 64).
    return f"GLM{utcnow():%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"


def new_out_refund_no(order: PaymentOrder, sequence: int) -> str:
    return f"{order.out_trade_no}R{sequence}"


async def record_event(
    order: PaymentOrder,
    kind: str,
    *,
    raw: dict[str, Any] | None,
    from_status: str | None = None,
    to_status: str | None = None,
    refund_id: int | None = None,
    reason: str = "",
) -> PaymentEvent:
    return await PaymentEvent.create(
        order_id=order.id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        refund_id=refund_id,
        reason=reason[:255],
        payload=raw,
    )


async def transition_order(
    order: PaymentOrder,
    target: PaymentStatus,
    *,
    raw: dict[str, Any] | None,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> PaymentOrder:
    """The only way an order changes status. Run inside a transaction.

    The UPDATE is conditional on the status read: of two concurrent callers one changes the row and
    the other gets InvalidTransition (never a second change).
    """
    current = order.status
    if not can_transition(current, target):
        raise InvalidTransition("payment order", current.value, target.value)
    values: dict[str, Any] = {
        "updated_at": at or utcnow(),
        **writable_updates(updates, state_column="status"),
        "status": target,
    }
    if target not in OPEN:
        values["open_key"] = None
    changed = await PaymentOrder.filter(id=order.id, status=current).update(**values)
    if changed != 1:
        fresh = await PaymentOrder.get(id=order.id)
        raise InvalidTransition("payment order", fresh.status.value, target.value)
    await record_event(
        order, "status", raw=raw, from_status=current.value, to_status=target.value, reason=reason
    )
    for key, value in values.items():
        setattr(order, key, value)
    return order


async def reserve_refund(order: PaymentOrder, amount: int) -> bool:
    """Reserve `amount` of the order's paid money for a refund; False when it would exceed it.

    A conditional UPDATE, so concurrent refunds can never reserve more than was paid in total.
    """
    if amount <= 0:
        return False
    reserved = await PaymentOrder.filter(id=order.id, refund_reserved__lte=order.paid_amount - amount).update(
        refund_reserved=F("refund_reserved") + amount
    )
    return reserved == 1
