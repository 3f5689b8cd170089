"""Payment use cases: start a payment, apply verified provider news, refund, close, reconcile.

Money rules (docs/decisions/040-042): a booking is confirmed only in the transaction that records
its payment; a payment whose booking no longer holds the seat is refunded automatically, once; an
unpaid order is closed at the provider when its hold lapses. Provider calls never happen inside a
database transaction.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from gualema.settings import Settings
from integrations.payments.interface import (
    BillKind,
    ClientPayment,
    CloseOutcome,
    InvalidNotification,
    OrderRequest,
    PaymentGateway,
    ProviderError,
    RefundResult,
    RefundState,
    Reply,
    Trade,
    TradeStatus,
)
from integrations.payments.registry import ProviderNotConfigured, gateway_for
from models import jobs
from models.booking import Booking, BookingStatus
from models.clock import utcnow
from models.errors import DomainError, InvalidTransition, NotFound
from models.notifications import notify
from models.payments import (
    PAYMENT_CLOSE,
    PAYMENT_REFUND,
    WAITLIST_REFUND,
    BookingNotPayable,
    NothingToPay,
    OpenOrderWithOtherProvider,
    PaymentOrder,
    PaymentProvider,
    PaymentProviderUnavailable,
    PaymentStatus,
    Refund,
    RefundExceedsPaid,
    RefundStatus,
    WaitlistEntryNotPayable,
    new_out_refund_no,
    new_out_trade_no,
    record_event,
    reserve_refund,
    transition_order,
)
from models.reactions import change_booking
from models.waitlist import WaitlistEntry, WaitlistStatus
from models.waitlist.lifecycle import admit_paid
from resolvers.context import Context

log = logging.getLogger("gualema.payments")

REFUND_JOB = PAYMENT_REFUND
CLOSE_JOB = PAYMENT_CLOSE
# A refund the provider has not settled after this long is asked about instead of waited for.
REFUND_POLL_AFTER = timedelta(minutes=1)


class NotificationRejected(Exception):
    """A verified notification that does not match our order (unknown number, wrong amount)."""


@dataclass(frozen=True)
class PaymentStarted:
    order: PaymentOrder
    client: ClientPayment


def gateway(settings: Settings, provider: PaymentProvider | str) -> PaymentGateway:
    try:
        return gateway_for(settings, PaymentProvider(provider).value)
    except ProviderNotConfigured:
        raise PaymentProviderUnavailable() from None


# -- starting a payment


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
    order = await open_order(booking, provider, payer_openid or "")
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
        payer_openid=payer_openid or "",
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
        amount=booking.fee,
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


# -- provider news: notifications and query results


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
            from resolvers.waitlist import publish_change

            await publish_change(order.account_id, order.waitlist_entry_id)
    elif trade.status is TradeStatus.PAYERROR and order.status is PaymentStatus.CREATED:
        # Already paid, closed or failed: the first news won and this one changes nothing.
        with contextlib.suppress(InvalidTransition):
            async with in_transaction():
                await transition_order(
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
            await transition_order(
                order,
                PaymentStatus.PAID,
                raw=raw,
                reason="paid",
                updates={
                    "provider_trade_no": trade.trade_no[:64],
                    "paid_amount": trade.amount,
                    "paid_at": trade.paid_at or utcnow(),
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
            # `transition` itself records the patient's "booking.confirmed" message (deduplicated).
            await record_event(order, "booking_confirmed", raw=None, reason=f"booking {booking.id}")
        else:
            reason = f"late payment: booking is {booking.status.value}"
            await record_event(order, "late_payment", raw=None, reason=reason)
            await jobs.enqueue(
                REFUND_JOB,
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
        REFUND_JOB,
        {"waitlist_entry_id": entry_id, "order_id": order.id, "reason": reason},
        dedupe_key=f"refund-order:{order.id}",
    )


# -- refunds


async def refund_order(settings: Settings, order_id: int, reason: str) -> Refund | None:
    """Refund what is left of the order's payment, once: the refund row (and its number) is created
    together with the PAID -> REFUNDING change, and a retry resubmits that same number."""
    async with in_transaction():
        order = await PaymentOrder.select_for_update().get(id=order_id)
        if order.status is PaymentStatus.REFUNDING:
            refund = (
                await Refund.filter(order_id=order.id, status=RefundStatus.PROCESSING).order_by("-id").first()
            )
        elif order.status is PaymentStatus.PAID:
            amount = order.paid_amount - order.refund_reserved
            if amount <= 0:
                return None
            await transition_order(order, PaymentStatus.REFUNDING, raw=None, reason=reason)
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
            changed = await Refund.filter(id=refund.id, status=RefundStatus.PROCESSING).update(
                status=RefundStatus.SUCCEEDED, succeeded_at=utcnow(), provider_refund_no=result.refund_no[:64]
            )
            if changed != 1:
                return  # already settled: a replayed notification
            await PaymentOrder.filter(id=order.id).update(
                refunded_amount=F("refunded_amount") + refund.amount
            )
            await record_event(order, "refund_succeeded", raw=raw, refund_id=refund.id)
            await _tell_refunded(order, refund)
            if order.refunded_amount + refund.amount >= order.paid_amount:
                await transition_order(order, PaymentStatus.REFUNDED, raw=raw, reason="refunded")
        else:
            changed = await Refund.filter(id=refund.id, status=RefundStatus.PROCESSING).update(
                status=RefundStatus.FAILED
            )
            if changed != 1:
                return
            await PaymentOrder.filter(id=order.id).update(
                refund_reserved=F("refund_reserved") - refund.amount
            )
            await record_event(order, "refund_failed", raw=raw, refund_id=refund.id)
            # Back to PAID: the money is still with us and needs a person (or a later retry).
            await transition_order(order, PaymentStatus.PAID, raw=raw, reason="refund failed at the provider")
            log.error(
                "refund %s failed at the provider; order %s needs attention",
                refund.out_refund_no,
                order.out_trade_no,
            )


async def _tell_refunded(order: PaymentOrder, refund: Refund) -> None:
    from models.accounts import Patient, text_phone

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


# -- closing unpaid orders


async def close_order(settings: Settings, order: PaymentOrder) -> bool:
    """Close an unpaid order at the provider, then here. An order younger than the provider's
    minimum age is left for a later round. Returns whether the order left CREATED."""
    adapter = gateway(settings, order.provider)
    if order.status is not PaymentStatus.CREATED:
        return False
    if utcnow() - order.created_at < adapter.min_age_before_close:
        return False
    outcome = await adapter.close(order.out_trade_no)
    if outcome is CloseOutcome.ALREADY_PAID:
        trade = await adapter.query(order.out_trade_no)
        if trade.status is TradeStatus.SUCCESS:
            await apply_trade(
                order.provider,
                trade,
                {"query_after_close": trade.status.value, "trade_no": trade.trade_no, "amount": trade.amount},
            )
        return True
    async with in_transaction():
        try:
            await transition_order(
                order,
                PaymentStatus.CLOSED,
                raw={"close": outcome.value},
                reason="hold lapsed",
                updates={"closed_at": utcnow()},
            )
        except InvalidTransition:
            return False
    return True


async def lapsed_orders(limit: int = 50) -> list[PaymentOrder]:
    """Open orders nobody can pay any more: past their deadline, or their booking left
    PENDING_PAYMENT, or their waitlist entry left AWAITING_PAYMENT."""
    now = utcnow()
    booking_gone = Q(booking_id__isnull=False) & ~Q(booking__status=BookingStatus.PENDING_PAYMENT)
    entry_gone = Q(waitlist_entry_id__isnull=False) & ~Q(
        waitlist_entry__status=WaitlistStatus.AWAITING_PAYMENT
    )
    return await (
        PaymentOrder.filter(status=PaymentStatus.CREATED)
        .filter(Q(expires_at__lte=now) | booking_gone | entry_gone)
        .order_by("id")
        .limit(limit)
    )


async def close_lapsed_orders(settings: Settings) -> int:
    closed = 0
    for order in await lapsed_orders():
        try:
            closed += await close_order(settings, order)
        except (ProviderError, PaymentProviderUnavailable) as exc:
            log.warning("closing order %s failed, retrying next round: %s", order.out_trade_no, exc)
    return closed


# -- the durable jobs of the booking engine's contract


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
    for order_id in order_ids:
        await refund_order(settings, order_id, reason)


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


async def close_job(settings: Settings, payload: dict[str, Any]) -> None:
    if payload.get("waitlist_entry_id") is not None:
        owner: dict[str, int] = {"waitlist_entry_id": int(payload["waitlist_entry_id"])}
    else:
        owner = {"booking_id": int(payload["booking_id"])}
    for order in await PaymentOrder.filter(**owner, status=PaymentStatus.CREATED):
        # Too young to close yet: `close_lapsed_orders` picks it up once the minimum age passes.
        await close_order(settings, order)


def job_runner(settings: Settings) -> jobs.JobRunner:
    async def on_refund(job: jobs.Job) -> None:
        await refund_job(settings, job.payload)

    async def on_close(job: jobs.Job) -> None:
        await close_job(settings, job.payload)

    async def on_waitlist_refund(job: jobs.Job) -> None:
        await waitlist_refund_job(settings, job.payload)

    return jobs.JobRunner({REFUND_JOB: on_refund, CLOSE_JOB: on_close, WAITLIST_REFUND: on_waitlist_refund})


async def work(settings: Settings) -> int:
    """One round of the periodic payments job: queued refunds and closes, lapsed orders, stale refunds."""
    done = await job_runner(settings).run_once()
    done += await close_lapsed_orders(settings)
    done += await poll_refunds(settings)
    return done


# -- reconciliation


@dataclass(frozen=True)
class Mismatch:
    provider: str
    kind: str
    reference: str
    local: str
    provider_side: str

    def __str__(self) -> str:
        return (
            f"{self.provider} {self.kind} {self.reference}: local {self.local}, provider {self.provider_side}"
        )


def _on_day(moment: datetime | None, day: date, settings: Settings) -> bool:
    return moment is not None and moment.astimezone(settings.tz).date() == day


async def reconcile(settings: Settings, day: date, providers: list[str] | None = None) -> list[Mismatch]:
    """Compare our paid orders and settled refunds of `day` (hospital time) with each provider's bill."""
    from integrations.payments.registry import configured_providers

    mismatches: list[Mismatch] = []
    for name in providers or configured_providers(settings):
        provider = PaymentProvider(name)
        bill = await gateway(settings, provider).bill(day)
        billed_payments = {line.out_trade_no: line for line in bill if line.kind is BillKind.PAYMENT}
        billed_refunds = {line.out_refund_no: line for line in bill if line.kind is BillKind.REFUND}
        paid = [
            o
            for o in await PaymentOrder.filter(provider=provider, paid_at__isnull=False)
            if _on_day(o.paid_at, day, settings)
        ]
        local_payments = {o.out_trade_no: o for o in paid}
        for number, order in local_payments.items():
            line = billed_payments.get(number)
            if line is None:
                mismatches.append(Mismatch(name, "payment", number, f"paid {order.paid_amount}", "missing"))
            elif line.amount != order.paid_amount:
                mismatches.append(
                    Mismatch(name, "payment", number, f"paid {order.paid_amount}", f"paid {line.amount}")
                )
        for number, line in billed_payments.items():
            if number not in local_payments:
                order_row = await PaymentOrder.get_or_none(out_trade_no=number)
                local = f"{order_row.status.value}, not paid that day" if order_row else "unknown order"
                mismatches.append(Mismatch(name, "payment", number, local, f"paid {line.amount}"))
        refunds = [
            r
            for r in await Refund.filter(order__provider=provider, status=RefundStatus.SUCCEEDED)
            if _on_day(r.succeeded_at, day, settings)
        ]
        local_refunds = {r.out_refund_no: r for r in refunds}
        for number, refund in local_refunds.items():
            line = billed_refunds.get(number)
            if line is None:
                mismatches.append(Mismatch(name, "refund", number, f"refunded {refund.amount}", "missing"))
            elif line.amount != refund.amount:
                mismatches.append(
                    Mismatch(name, "refund", number, f"refunded {refund.amount}", f"refunded {line.amount}")
                )
        for number, line in billed_refunds.items():
            if number not in local_refunds:
                refund_row = await Refund.get_or_none(out_refund_no=number)
                local = refund_row.status.value if refund_row else "unknown refund"
                mismatches.append(Mismatch(name, "refund", number, local, f"refunded {line.amount}"))
    return mismatches


async def my_orders(context: Context, booking_id: int) -> list[PaymentOrder]:
    return await PaymentOrder.filter(booking_id=booking_id, account_id=context.viewer.account_id).order_by(
        "-id"
    )
