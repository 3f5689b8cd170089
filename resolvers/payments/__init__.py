"""Payment use cases, one module per concept (docs/decisions/133):

- `checkout`: a client starts paying (`payBooking`), one open order per owner;
- `notifications`: verified provider news applied once, bookings confirmed with their payment;
- `refunds`: money back in full, once, settled through the refund writer;
- `closing`: unpaid orders closed at the provider when nobody can pay them any more;
- `reconciliation`: a day's orders and refunds against each provider's bill;
- `work`: the periodic job that runs the queued refunds and closes.
"""

from resolvers.payments.checkout import (
    ORDERS_SHOWN,
    PaymentStarted,
    my_orders,
    open_order,
    pay_booking,
    pay_waitlist_entry,
)
from resolvers.payments.closing import close_job, close_lapsed_orders, close_order, lapsed_orders
from resolvers.payments.gateways import NotificationRejected, configured_providers, gateway
from resolvers.payments.notifications import apply_trade, handle_notification, record_paid
from resolvers.payments.reconciliation import Mismatch, reconcile
from resolvers.payments.refunds import (
    apply_refund_result,
    poll_refunds,
    refund_job,
    refund_order,
    waitlist_refund_job,
)
from resolvers.payments.work import job_runner, work

__all__ = [
    "ORDERS_SHOWN",
    "Mismatch",
    "NotificationRejected",
    "PaymentStarted",
    "apply_refund_result",
    "apply_trade",
    "close_job",
    "close_lapsed_orders",
    "close_order",
    "configured_providers",
    "gateway",
    "handle_notification",
    "job_runner",
    "lapsed_orders",
    "my_orders",
    "open_order",
    "pay_booking",
    "pay_waitlist_entry",
    "poll_refunds",
    "reconcile",
    "record_paid",
    "refund_job",
    "refund_order",
    "waitlist_refund_job",
    "work",
]
