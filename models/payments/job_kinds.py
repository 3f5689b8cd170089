"""The payments' durable jobs (models/jobs.py), defined once: a paid booking cancelled (refund), an
unpaid order whose booking or waitlist entry went away (close at the provider), a prepaid waitlist
entry that ended without a seat (refund its fee). models/reactions.py enqueues them;
resolvers/payments/work.py runs them."""

from __future__ import annotations

PAYMENT_REFUND = "payment.refund"
PAYMENT_CLOSE = "payment.close"
WAITLIST_REFUND = "waitlist.refund"
