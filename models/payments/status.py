"""The statuses of a payment order and of a refund, and their one transition table each."""

from __future__ import annotations

from enum import StrEnum


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


R = RefundStatus

# The one transition table of a refund: it is asked for once and settled once. A failed refund stays
# failed; trying again is a new refund with a new number (the order goes back to PAID for it).
REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    R.PROCESSING: frozenset({R.SUCCEEDED, R.FAILED}),
    R.SUCCEEDED: frozenset(),
    R.FAILED: frozenset(),
}


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in TRANSITIONS[current]


def can_settle(current: RefundStatus, target: RefundStatus) -> bool:
    return target in REFUND_TRANSITIONS[current]
