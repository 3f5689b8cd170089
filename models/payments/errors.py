"""Expected failures of paying; the GraphQL layer maps each to a union member of the same name."""

from __future__ import annotations

from models.errors import DomainError


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
