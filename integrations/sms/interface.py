"""The one interface every SMS provider adapter implements.

Adapters speak their provider's wire format and sign their requests; they know nothing of our tables.
An adapter either returns the provider's message id or raises `SmsError` saying whether a later
attempt may succeed (a timeout, a rate limit, a provider fault) or never will (a bad number, a
missing template, a rejected signature).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutgoingSms:
    phone: str
    event: str  # our template's event, e.g. "booking.confirmed"
    text: str  # the rendered text, for providers that take free text (and for logs)
    params: dict[str, str]  # the template's variables as shown, for provider-side templates
    variables: tuple[str, ...]  # their order, for providers that take positional parameters
    idempotency_key: str  # the same for every attempt of one message
    # The phone as logs may show it, masked by the caller (the masking rule is the domain's,
    # models.identity.mask_phone; adapters log nothing else of the number).
    masked_phone: str


class SmsError(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class SmsReceipt:
    provider_message_id: str
    extra: dict[str, str] = field(default_factory=dict)


class SmsProvider(Protocol):
    name: str

    async def send(self, sms: OutgoingSms) -> SmsReceipt: ...

    async def aclose(self) -> None: ...
