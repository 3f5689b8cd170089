"""The one function that changes a payment order's status and the one that settles a refund.

Both return a small frozen change record for models/reactions.py, their only caller (which rolls the
revenue up in the same transaction). Both work alike: the transition table decides, the UPDATE is
conditional on the status read (so of two concurrent callers exactly one changes the row and the other
gets InvalidTransition), `updates` can never carry the status, the status is set last, and every change
writes a `PaymentEvent` with the raw provider payload, kept for disputes. Run them inside a transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import F

from models.clock import utcnow
from models.errors import InvalidTransition, writable_updates
from models.payments.status import OPEN, PaymentStatus, RefundStatus, can_settle, can_transition
from models.payments.tables import PaymentEvent, PaymentOrder, Refund


@dataclass(frozen=True)
class OrderChanged:
    """One order entering a status."""

    order_id: int
    account_id: int
    booking_id: int | None
    waitlist_entry_id: int | None
    from_status: PaymentStatus
    to_status: PaymentStatus
    paid_amount: int
    paid_at: datetime | None
    at: datetime


@dataclass(frozen=True)
class RefundChanged:
    """One refund settled (succeeded or failed)."""

    refund_id: int
    order_id: int
    account_id: int
    booking_id: int | None
    waitlist_entry_id: int | None
    from_status: RefundStatus
    to_status: RefundStatus
    amount: int
    succeeded_at: datetime | None
    at: datetime


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
) -> OrderChanged:
    """The only way an order changes status."""
    current = order.status
    if not can_transition(current, target):
        raise InvalidTransition("payment order", current.value, target.value)
    now = at or utcnow()
    values: dict[str, Any] = {"updated_at": now, **writable_updates(updates, state_column="status")}
    if target not in OPEN:
        values["open_key"] = None
    values["status"] = target
    changed = await PaymentOrder.filter(id=order.id, status=current).update(**values)
    if changed != 1:
        fresh = await PaymentOrder.get(id=order.id)
        raise InvalidTransition("payment order", fresh.status.value, target.value)
    await record_event(
        order, "status", raw=raw, from_status=current.value, to_status=target.value, reason=reason
    )
    for key, value in values.items():
        setattr(order, key, value)
    return OrderChanged(
        order_id=order.id,
        account_id=order.account_id,
        booking_id=order.booking_id,
        waitlist_entry_id=order.waitlist_entry_id,
        from_status=current,
        to_status=target,
        paid_amount=order.paid_amount,
        paid_at=order.paid_at,
        at=now,
    )


async def settle_refund(
    refund: Refund,
    target: RefundStatus,
    *,
    order: PaymentOrder,
    raw: dict[str, Any] | None,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> RefundChanged:
    """The only way a refund changes status (PROCESSING -> SUCCEEDED or FAILED, once).

    Its event (`refund_succeeded` / `refund_failed`) goes on the order's trail with the refund's id.
    """
    current = refund.status
    if not can_settle(current, target):
        raise InvalidTransition("refund", current.value, target.value)
    now = at or utcnow()
    values: dict[str, Any] = {"updated_at": now, **writable_updates(updates, state_column="status")}
    values["status"] = target
    changed = await Refund.filter(id=refund.id, status=current).update(**values)
    if changed != 1:
        fresh = await Refund.get(id=refund.id)
        raise InvalidTransition("refund", fresh.status.value, target.value)
    await record_event(
        order,
        f"refund_{target.value}",
        raw=raw,
        from_status=current.value,
        to_status=target.value,
        refund_id=refund.id,
        reason=reason,
    )
    for key, value in values.items():
        setattr(refund, key, value)
    return RefundChanged(
        refund_id=refund.id,
        order_id=order.id,
        account_id=order.account_id,
        booking_id=order.booking_id,
        waitlist_entry_id=order.waitlist_entry_id,
        from_status=current,
        to_status=target,
        amount=refund.amount,
        succeeded_at=refund.succeeded_at,
        at=now,
    )


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
