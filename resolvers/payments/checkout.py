"""Checkout: a client starts paying for a booking or a prepaid waitlist entry (`payBooking`).

Money rules (docs/decisions/040-042): an owner has at most one open order; the provider is asked
outside any database transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from integrations.payments.interface import ClientPayment, OrderRequest, PaymentGateway, ProviderError
from models.booking import Booking, BookingStatus
from models.clock import utcnow
from models.errors import DomainError, NotFound
from models.payments import (
    BookingNotPayable,
    NothingToPay,
    OpenOrderWithOtherProvider,
    PaymentOrder,
    PaymentProvider,
    PaymentProviderUnavailable,
    PaymentStatus,
    WaitlistEntryNotPayable,
    new_out_trade_no,
    paid_for_booking,
    record_event,
)
from models.waitlist import WaitlistEntry, WaitlistStatus
from resolvers.context import Context
from resolvers.payments.gateways import gateway
from resolvers.wechat import payer_openid as wechat_payer

log = logging.getLogger("gualema.payments")


@dataclass(frozen=True)
class PaymentStarted:
    order: PaymentOrder
    client: ClientPayment


async def pay_booking(
    context: Context, booking_id: int, provider: PaymentProvider, payer_openid: str | None = None
) -> PaymentStarted:
    account_id = context.viewer.account_id
    booking = await Booking.get_or_none(id=booking_id, account_id=account_id)
    if booking is None:
        raise NotFound("no such booking")
    if booking.fee <= 0:
        raise NothingToPay()
    if booking.status is not BookingStatus.PENDING_PAYMENT or booking.expires_at is None:
        raise BookingNotPayable()
    if booking.expires_at <= utcnow():
        raise BookingNotPayable("the hold on this booking has lapsed")
    adapter = gateway(context.settings, provider)
    order = await open_order(booking, provider, await wechat_payer(context, provider, payer_openid))
    return await _start_payment(adapter, order, provider, f"挂号费 {booking.visit_date}")


async def pay_waitlist_entry(
    context: Context, entry_id: int, provider: PaymentProvider, payer_openid: str | None = None
) -> PaymentStarted:
    """Prepaid waitlist: pay the fee to get in line (decision 090)."""
    entry = await WaitlistEntry.get_or_none(id=entry_id, account_id=context.viewer.account_id)
    if entry is None:
        raise NotFound("no such waitlist entry")
    if entry.fee_due <= 0:
        raise NothingToPay("this waitlist entry has no fee to pay")
    if entry.status is not WaitlistStatus.AWAITING_PAYMENT or entry.payment_expires_at is None:
        raise WaitlistEntryNotPayable()
    if entry.payment_expires_at <= utcnow():
        raise WaitlistEntryNotPayable("the time to pay for this waitlist entry has passed")
    adapter = gateway(context.settings, provider)
    order = await _open_order(
        f"w{entry.id}",
        {"waitlist_entry_id": entry.id},
        account_id=entry.account_id,
        amount=entry.fee_due,
        expires_at=entry.payment_expires_at,
        provider=provider,
        payer_openid=await wechat_payer(context, provider, payer_openid),
        changed=WaitlistEntryNotPayable("the payment for this waitlist entry just changed; try again"),
    )
    return await _start_payment(adapter, order, provider, f"候补挂号费 {entry.visit_date}")


async def _start_payment(
    adapter: PaymentGateway, order: PaymentOrder, provider: PaymentProvider, description: str
) -> PaymentStarted:
    if order.provider is not provider:
        raise OpenOrderWithOtherProvider(order.provider.value.upper())
    request = OrderRequest(
        out_trade_no=order.out_trade_no,
        amount=order.amount,
        description=description,
        expires_at=order.expires_at,
        payer_openid=order.payer_openid,
        known_prepay_id=order.prepay_id,
    )
    try:
        client = await adapter.create(request)
    except ProviderError as exc:
        log.warning(
            "payment provider %s refused or failed order %s: %s", provider.value, order.out_trade_no, exc
        )
        raise PaymentProviderUnavailable("the payment service did not answer; try again") from None
    if client.prepay_id and not order.prepay_id:
        await PaymentOrder.filter(id=order.id, prepay_id="").update(prepay_id=client.prepay_id)
    return PaymentStarted(order, client)


async def open_order(booking: Booking, provider: PaymentProvider, payer_openid: str) -> PaymentOrder:
    """The booking's open order, created if there is none."""
    assert booking.expires_at is not None
    return await _open_order(
        str(booking.id),
        {"booking_id": booking.id},
        account_id=booking.account_id,
        # A rescheduled booking brings its paid orders along: only the difference is due.
        amount=booking.fee - await paid_for_booking(booking.id),
        expires_at=booking.expires_at,
        provider=provider,
        payer_openid=payer_openid,
        changed=BookingNotPayable("the payment for this booking just changed; try again"),
    )


async def _open_order(
    key: str,
    owner: dict[str, Any],
    *,
    account_id: int,
    amount: int,
    expires_at: datetime,
    provider: PaymentProvider,
    payer_openid: str,
    changed: DomainError,
) -> PaymentOrder:
    """The owner's open order, created if there is none; the unique `open_key` makes concurrent
    callers share one order (the loser of the INSERT reads the winner's row)."""
    existing = await PaymentOrder.get_or_none(open_key=key)
    if existing is not None:
        return existing
    try:
        # Its own short transaction: on PostgreSQL a failed INSERT aborts the transaction it is in,
        # so the unique-key loser must not be inside a caller's transaction.
        async with in_transaction():
            order = await PaymentOrder.create(
                **owner,
                account_id=account_id,
                provider=provider,
                out_trade_no=new_out_trade_no(),
                amount=amount,
                status=PaymentStatus.CREATED,
                expires_at=expires_at,
                open_key=key,
                payer_openid=payer_openid,
            )
            await record_event(order, "created", raw=None, to_status=PaymentStatus.CREATED.value)
        return order
    except IntegrityError:
        winner = await PaymentOrder.get_or_none(open_key=key)
        if winner is None:  # the winner was closed in between; the caller may simply retry
            raise changed from None
        return winner


ORDERS_SHOWN = 20  # one open order per owner at a time: retries after lapses, newest first


async def my_orders(context: Context, booking_id: int) -> list[PaymentOrder]:
    return (
        await PaymentOrder.filter(booking_id=booking_id, account_id=context.viewer.account_id)
        .order_by("-id")
        .limit(ORDERS_SHOWN)
    )
