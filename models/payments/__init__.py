"""Payment orders, refunds and their audit trail (docs/decisions/041, 130).

`status` holds both transition tables, `writers` the one function that changes each (an order's
`transition_order`, a refund's `settle_refund`: not re-exported here, since only models/reactions.py
may call them), `tables` the rows, `job_kinds` the durable jobs the
reactions enqueue for payments. This package re-exports them, so `models.payments` is also
the module tortoise reads the tables from.
"""

from models.payments.booking_money import move_paid_orders, paid_for_booking
from models.payments.errors import (
    BookingNotPayable,
    NothingToPay,
    OpenOrderWithOtherProvider,
    PaymentProviderUnavailable,
    RefundExceedsPaid,
    WaitlistEntryNotPayable,
)
from models.payments.job_kinds import PAYMENT_CLOSE, PAYMENT_REFUND, WAITLIST_REFUND
from models.payments.status import (
    OPEN,
    REFUND_TRANSITIONS,
    TRANSITIONS,
    PaymentProvider,
    PaymentStatus,
    RefundStatus,
    can_settle,
    can_transition,
)
from models.payments.tables import PaymentEvent, PaymentOrder, Refund
from models.payments.writers import (
    OrderChanged,
    RefundChanged,
    new_out_refund_no,
    new_out_trade_no,
    record_event,
    reserve_refund,
)

__all__ = [
    "OPEN",
    "PAYMENT_CLOSE",
    "PAYMENT_REFUND",
    "REFUND_TRANSITIONS",
    "TRANSITIONS",
    "WAITLIST_REFUND",
    "BookingNotPayable",
    "NothingToPay",
    "OpenOrderWithOtherProvider",
    "OrderChanged",
    "PaymentEvent",
    "PaymentOrder",
    "PaymentProvider",
    "PaymentProviderUnavailable",
    "PaymentStatus",
    "Refund",
    "RefundChanged",
    "RefundExceedsPaid",
    "RefundStatus",
    "WaitlistEntryNotPayable",
    "can_settle",
    "can_transition",
    "move_paid_orders",
    "new_out_refund_no",
    "new_out_trade_no",
    "paid_for_booking",
    "record_event",
    "reserve_refund",
]
