"""Closing unpaid orders: an order nobody can pay any more is closed at the provider, then here
(docs/decisions/042). A provider that says the order was paid meanwhile wins: its trade is applied."""

from __future__ import annotations

import logging
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from gualema.settings import Settings
from integrations.payments.interface import CloseOutcome, ProviderError, TradeStatus
from models.booking import BookingStatus
from models.clock import utcnow
from models.errors import InvalidTransition
from models.payments import PaymentOrder, PaymentProviderUnavailable, PaymentStatus
from models.reactions import change_order
from models.waitlist import WaitlistStatus
from resolvers.payments.gateways import gateway
from resolvers.payments.notifications import apply_trade

log = logging.getLogger("gualema.payments")


async def close_order(settings: Settings, order: PaymentOrder) -> bool:
    """Close an unpaid order at the provider, then here. An order younger than the provider's
    minimum age is left for a later round. Returns whether the order left CREATED."""
    adapter = gateway(settings, order.provider)
    if order.status is not PaymentStatus.CREATED:
        return False
    if utcnow() - order.created_at < adapter.min_age_before_close:
        return False
    outcome = await adapter.close(order.out_trade_no)
    if outcome is CloseOutcome.ALREADY_PAID:
        trade = await adapter.query(order.out_trade_no)
        if trade.status is TradeStatus.SUCCESS:
            await apply_trade(
                order.provider,
                trade,
                {"query_after_close": trade.status.value, "trade_no": trade.trade_no, "amount": trade.amount},
            )
        return True
    async with in_transaction():
        try:
            await change_order(
                order,
                PaymentStatus.CLOSED,
                raw={"close": outcome.value},
                reason="hold lapsed",
                updates={"closed_at": utcnow()},
            )
        except InvalidTransition:
            return False
    return True


async def lapsed_orders(limit: int = 50) -> list[PaymentOrder]:
    """Open orders nobody can pay any more: past their deadline, or their booking left
    PENDING_PAYMENT, or their waitlist entry left AWAITING_PAYMENT."""
    now = utcnow()
    booking_gone = Q(booking_id__isnull=False) & ~Q(booking__status=BookingStatus.PENDING_PAYMENT)
    entry_gone = Q(waitlist_entry_id__isnull=False) & ~Q(
        waitlist_entry__status=WaitlistStatus.AWAITING_PAYMENT
    )
    return await (
        PaymentOrder.filter(status=PaymentStatus.CREATED)
        .filter(Q(expires_at__lte=now) | booking_gone | entry_gone)
        .order_by("id")
        .limit(limit)
    )


async def close_lapsed_orders(settings: Settings) -> int:
    closed = 0
    for order in await lapsed_orders():
        try:
            closed += await close_order(settings, order)
        except (ProviderError, PaymentProviderUnavailable) as exc:
            log.warning("closing order %s failed, retrying next round: %s", order.out_trade_no, exc)
    return closed


async def close_job(settings: Settings, payload: dict[str, Any]) -> None:
    if payload.get("waitlist_entry_id") is not None:
        owner: dict[str, int] = {"waitlist_entry_id": int(payload["waitlist_entry_id"])}
    else:
        owner = {"booking_id": int(payload["booking_id"])}
    for order in await PaymentOrder.filter(**owner, status=PaymentStatus.CREATED):
        # Too young to close yet: `close_lapsed_orders` picks it up once the minimum age passes.
        await close_order(settings, order)
