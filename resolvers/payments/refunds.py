"""Refunds: money goes back in full, once (docs/decisions/040, 092).

The refund row (and its number) is created together with the order's PAID -> REFUNDING change; the
provider is asked outside the transaction; its answer (or a later query) settles the refund through
the one refund writer, `models.payments.settle_refund`, through `models.reactions.change_refund`
(which counts the refunded revenue in the same transaction).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from gualema.settings import Settings
from integrations.payments.interface import RefundResult, RefundState
from models.accounts import Patient, text_phone
from models.booking import Booking
from models.clock import utcnow
from models.errors import InvalidTransition
from models.notifications import notify
from models.payments import (
    PaymentOrder,
    PaymentStatus,
    Refund,
    RefundExceedsPaid,
    RefundStatus,
    new_out_refund_no,
    record_event,
    reserve_refund,
)
from models.reactions import change_order, change_refund
from models.waitlist import WaitlistEntry, WaitlistStatus
from resolvers.payments.gateways import NotificationRejected, gateway

log = logging.getLogger("gualema.payments")

# A refund the provider has not settled after this long is asked about instead of waited for.
REFUND_POLL_AFTER = timedelta(minutes=1)


async def refund_order(
    settings: Settings, order_id: int, reason: str, amount: int | None = None
) -> Refund | None:
    """Refund what is left of the order's payment (or `amount` of it), once: the refund row (and its
    number) is created together with the PAID -> REFUNDING change, and a retry resubmits that same
    number. A partial refund puts the order back to PAID when it succeeds."""
    requested = amount
    async with in_transaction():
        order = await PaymentOrder.select_for_update().get(id=order_id)
        if order.status is PaymentStatus.REFUNDING:
            refund = (
                await Refund.filter(order_id=order.id, status=RefundStatus.PROCESSING).order_by("-id").first()
            )
        elif order.status is PaymentStatus.PAID:
            amount = order.paid_amount - order.refund_reserved
            if requested is not None:
                amount = min(amount, requested)
            if amount <= 0:
                return None
            await change_order(order, PaymentStatus.REFUNDING, raw=None, reason=reason)
            if not await reserve_refund(order, amount):
                raise RefundExceedsPaid()
            sequence = await Refund.filter(order_id=order.id).count() + 1
            refund = await Refund.create(
                order_id=order.id,
                out_refund_no=new_out_refund_no(order, sequence),
                amount=amount,
                reason=reason[:255],
                status=RefundStatus.PROCESSING,
            )
            await record_event(order, "refund_requested", raw=None, refund_id=refund.id, reason=reason)
        else:
            return None  # never paid, or already refunded
    if refund is None:
        return None
    adapter = gateway(settings, order.provider)
    result = await adapter.refund(
        order.out_trade_no, refund.out_refund_no, refund.amount, order.paid_amount, refund.reason
    )
    await apply_refund_result(result, {"refund_response": result.state.value, "refund_no": result.refund_no})
    return await Refund.get(id=refund.id)


async def apply_refund_result(result: RefundResult, raw: dict[str, Any]) -> None:
    refund = await Refund.get_or_none(out_refund_no=result.out_refund_no)
    if refund is None:
        raise NotificationRejected("unknown out_refund_no")
    if result.state in (RefundState.PROCESSING, RefundState.NOT_FOUND):
        return
    async with in_transaction():
        order = await PaymentOrder.select_for_update().get(id=refund.order_id)
        if result.state is RefundState.SUCCESS:
            succeeded_at = utcnow()
            try:
                await change_refund(
                    refund,
                    RefundStatus.SUCCEEDED,
                    order=order,
                    raw=raw,
                    updates={"succeeded_at": succeeded_at, "provider_refund_no": result.refund_no[:64]},
                )
            except InvalidTransition:
                return  # already settled: a replayed notification
            await PaymentOrder.filter(id=order.id).update(
                refunded_amount=F("refunded_amount") + refund.amount
            )
            await _tell_refunded(order, refund)
            if order.refunded_amount + refund.amount >= order.paid_amount:
                await change_order(order, PaymentStatus.REFUNDED, raw=raw, reason="refunded")
            else:  # a partial refund: the rest is still paid and may be refunded later
                await change_order(order, PaymentStatus.PAID, raw=raw, reason="partially refunded")
        else:
            try:
                await change_refund(refund, RefundStatus.FAILED, order=order, raw=raw)
            except InvalidTransition:
                return
            await PaymentOrder.filter(id=order.id).update(
                refund_reserved=F("refund_reserved") - refund.amount
            )
            # Back to PAID: the money is still with us and needs a person (or a later retry).
            await change_order(order, PaymentStatus.PAID, raw=raw, reason="refund failed at the provider")
            log.error(
                "refund %s failed at the provider; order %s needs attention",
                refund.out_refund_no,
                order.out_trade_no,
            )


async def _tell_refunded(order: PaymentOrder, refund: Refund) -> None:
    booking_id: int | None = order.booking_id
    if booking_id is not None:
        patient_id = (await Booking.get(id=booking_id)).patient_id
    else:  # a prepaid waitlist fee that bought no seat
        entry = await WaitlistEntry.get(id=order.waitlist_entry_id)
        patient_id = entry.patient_id
    patient = await Patient.get(id=patient_id)
    await notify(
        order.account_id,
        "refund.completed",
        {"patient_name": patient.name, "amount_fen": refund.amount},
        dedupe_key=f"refund.completed:{refund.out_refund_no}",
        booking_id=booking_id,
        phone=text_phone(patient),
    )


async def poll_refunds(settings: Settings) -> int:
    """Settle refunds the provider has not told us about, by asking."""
    stale = await Refund.filter(
        status=RefundStatus.PROCESSING, created_at__lte=utcnow() - REFUND_POLL_AFTER
    ).limit(20)
    for refund in stale:
        order = await PaymentOrder.get(id=refund.order_id)
        adapter = gateway(settings, order.provider)
        result = await adapter.query_refund(order.out_trade_no, refund.out_refund_no)
        if result.state is RefundState.NOT_FOUND:
            # The request never arrived (the provider was unreachable whenever the job tried): send
            # it again under the same number, which can only ever refund once.
            result = await adapter.refund(
                order.out_trade_no, refund.out_refund_no, refund.amount, order.paid_amount, refund.reason
            )
        await apply_refund_result(result, {"refund_query": result.state.value})
    return len(stale)


async def refund_job(settings: Settings, payload: dict[str, Any]) -> None:
    reason = str(payload.get("reason") or "booking cancelled")
    if payload.get("order_id") is not None:
        order_ids = [int(payload["order_id"])]
    else:
        order_ids = [
            row.id
            for row in await PaymentOrder.filter(
                booking_id=int(payload["booking_id"]),
                status__in=[PaymentStatus.PAID, PaymentStatus.REFUNDING],
            )
        ]
    amount = int(payload["amount"]) if payload.get("amount") is not None else None
    for order_id in order_ids:
        await refund_order(settings, order_id, reason, amount)


async def waitlist_refund_job(settings: Settings, payload: dict[str, Any]) -> None:
    """A prepaid waitlist entry ended without a seat (deadline, or left): refund the order that paid
    its fee, once. An order already attached to a booking is refunded only through that booking."""
    entry = await WaitlistEntry.get_or_none(id=int(payload["entry_id"]))
    if entry is None or entry.payment_order_id is None:
        return
    if entry.status not in (WaitlistStatus.EXPIRED, WaitlistStatus.LEFT):
        return
    order = await PaymentOrder.get_or_none(id=entry.payment_order_id, booking_id__isnull=True)
    if order is None:
        return
    if int(payload.get("amount", order.paid_amount)) > order.paid_amount:
        raise RefundExceedsPaid()
    await refund_order(settings, order.id, str(payload.get("reason") or "waitlist ended"))
