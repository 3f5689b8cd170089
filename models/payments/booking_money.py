"""Money that follows a rescheduled booking (docs/decisions/191-rescheduling.md)."""

from __future__ import annotations

from models import jobs
from models.payments.job_kinds import PAYMENT_REFUND
from models.payments.status import PaymentStatus
from models.payments.tables import PaymentOrder


async def paid_for_booking(booking_id: int) -> int:
    """Fen paid for the booking and not (being) refunded."""
    orders = await PaymentOrder.filter(booking_id=booking_id, status=PaymentStatus.PAID)
    return sum(order.paid_amount - order.refund_reserved for order in orders)


async def move_paid_orders(
    from_booking_id: int, to_booking_id: int, *, refund_above: int, reason: str
) -> None:
    """The paid orders of a rescheduled booking now pay for its successor; what they hold above
    `refund_above` (the new fee) is refunded through the refund job. Inside the caller's transaction."""
    orders = await PaymentOrder.filter(booking_id=from_booking_id, status=PaymentStatus.PAID).order_by("id")
    await PaymentOrder.filter(id__in=[order.id for order in orders]).update(booking_id=to_booking_id)
    surplus = sum(order.paid_amount - order.refund_reserved for order in orders) - refund_above
    for order in reversed(orders):
        if surplus <= 0:
            break
        amount = min(surplus, order.paid_amount - order.refund_reserved)
        surplus -= amount
        await jobs.enqueue(
            PAYMENT_REFUND,
            {"booking_id": to_booking_id, "order_id": order.id, "amount": amount, "reason": reason},
            dedupe_key=f"refund-difference:{from_booking_id}:{order.id}",
        )
