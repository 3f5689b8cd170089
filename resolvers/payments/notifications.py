"""Provider news: a verified notification (or a query's answer) about a payment is applied once.

A booking is confirmed only in the transaction that records its payment; money whose booking or
waitlist entry no longer holds a place is queued for an automatic refund (docs/decisions/040).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC
from typing import Any

from tortoise.transactions import in_transaction

from gualema.settings import Settings
from integrations.payments.interface import InvalidNotification, Reply, Trade, TradeStatus
from models import jobs
from models.booking import Booking, BookingStatus
from models.clock import utcnow
from models.errors import InvalidTransition
from models.payments import (
    PAYMENT_REFUND,
    PaymentOrder,
    PaymentProvider,
    PaymentProviderUnavailable,
    PaymentStatus,
    record_event,
)
from models.reactions import change_booking, change_order
from models.waitlist import WaitlistEntry
from models.waitlist.lifecycle import admit_paid
from resolvers.payments.gateways import NotificationRejected, gateway
from resolvers.payments.refunds import apply_refund_result
from resolvers.waitlist import publish_change

log = logging.getLogger("gualema.payments")


async def handle_notification(
    settings: Settings, provider: PaymentProvider, headers: dict[str, str], body: bytes
) -> Reply:
    """Verify, then apply. Anything we cannot verify or match changes nothing and gets the
    provider's failure reply; a replay of something already applied gets the success reply."""
    try:
        adapter = gateway(settings, provider)
    except PaymentProviderUnavailable:
        return Reply(404, b"", None)
    try:
        notification = adapter.parse_notification(headers, body)
        if notification.trade is not None:
            await apply_trade(provider, notification.trade, notification.raw)
        elif notification.refund is not None:
            await apply_refund_result(notification.refund, notification.raw)
    except (InvalidNotification, NotificationRejected) as exc:
        log.warning("rejected %s notification: %s", provider.value, exc)
        return adapter.failure_reply(str(exc))
    return adapter.success_reply()


async def apply_trade(provider: PaymentProvider, trade: Trade, raw: dict[str, Any]) -> None:
    order = await PaymentOrder.get_or_none(out_trade_no=trade.out_trade_no, provider=provider)
    if order is None:
        raise NotificationRejected("unknown out_trade_no")
    if trade.status is TradeStatus.SUCCESS:
        if trade.amount != order.amount:
            raise NotificationRejected(f"amount {trade.amount} does not match the order's {order.amount}")
        changed = await record_paid(order, trade, raw)
        if changed and order.waitlist_entry_id is not None:
            await publish_change(order.account_id, order.waitlist_entry_id)
    elif trade.status is TradeStatus.PAYERROR and order.status is PaymentStatus.CREATED:
        # Already paid, closed or failed: the first news won and this one changes nothing.
        with contextlib.suppress(InvalidTransition):
            async with in_transaction():
                await change_order(
                    order, PaymentStatus.FAILED, raw=raw, reason="payment failed at the provider"
                )


async def record_paid(order: PaymentOrder, trade: Trade, raw: dict[str, Any]) -> bool:
    """Money arrived: the order becomes PAID and, in the same transaction, the booking is confirmed
    when it still holds its seat; otherwise the money is queued for an automatic refund. Returns
    whether this call changed anything (replays and concurrent duplicates do not)."""
    async with in_transaction():
        order = await PaymentOrder.select_for_update().get(id=order.id)
        if order.status not in (PaymentStatus.CREATED, PaymentStatus.CLOSED, PaymentStatus.FAILED):
            return False
        try:
            await change_order(
                order,
                PaymentStatus.PAID,
                raw=raw,
                reason="paid",
                updates={
                    "provider_trade_no": trade.trade_no[:64],
                    "paid_amount": trade.amount,
                    # In UTC: MySQL/MariaDB columns keep no offset, and a provider's "+08:00" time
                    # written as it came would read back eight hours late.
                    "paid_at": trade.paid_at.astimezone(UTC) if trade.paid_at else utcnow(),
                },
            )
        except InvalidTransition:
            return False  # a concurrent delivery of the same news won the conditional update
        if order.booking_id is None:
            await _record_waitlist_fee(order)
            return True
        booking = await Booking.get(id=order.booking_id)
        confirmed = False
        if booking.status is BookingStatus.PENDING_PAYMENT:
            try:
                await change_booking(
                    booking,
                    BookingStatus.CONFIRMED,
                    actor_id=None,
                    reason=f"paid, order {order.out_trade_no}",
                )
                confirmed = True
            except InvalidTransition:
                booking = await Booking.get(id=booking.id)  # expired or cancelled a moment ago
        if confirmed:
            # The booking writer`s reactions record the patient's "booking.confirmed" message (deduplicated).
            await record_event(order, "booking_confirmed", raw=None, reason=f"booking {booking.id}")
        else:
            reason = f"late payment: booking is {booking.status.value}"
            await record_event(order, "late_payment", raw=None, reason=reason)
            await jobs.enqueue(
                PAYMENT_REFUND,
                {"booking_id": booking.id, "order_id": order.id, "reason": reason},
                dedupe_key=f"refund-order:{order.id}",
            )
    return True


async def _record_waitlist_fee(order: PaymentOrder) -> None:
    """The fee of a prepaid waitlist entry arrived (inside record_paid's transaction): the entry gets
    in line, or, when it lapsed or was left meanwhile, the money goes back (as decision 040)."""
    entry_id = order.waitlist_entry_id
    assert entry_id is not None
    assert order.paid_at is not None
    if await admit_paid(entry_id, order.id, order.paid_amount, order.paid_at):
        await record_event(order, "waitlist_joined", raw=None, reason=f"waitlist entry {entry_id}")
        return
    entry = await WaitlistEntry.get(id=entry_id)
    reason = f"late payment: waitlist entry is {entry.status.value}"
    if entry.payment_order_id not in (None, order.id):
        reason = "a second payment for the same waitlist entry"
    await record_event(order, "late_payment", raw=None, reason=reason)
    await jobs.enqueue(
        PAYMENT_REFUND,
        {"waitlist_entry_id": entry_id, "order_id": order.id, "reason": reason},
        dedupe_key=f"refund-order:{order.id}",
    )
