"""Reconciliation: our paid orders and settled refunds of a day against each provider's bill."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from gualema.settings import Settings
from integrations.payments.interface import BillKind
from models.payments import PaymentOrder, PaymentProvider, Refund, RefundStatus
from resolvers.payments.gateways import configured_providers, gateway


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
    mismatches: list[Mismatch] = []
    for name in providers or configured_providers(settings):
        provider = PaymentProvider(name)
        bill = await gateway(settings, provider).bill(day)
        paid = {
            o.out_trade_no: o.paid_amount
            for o in await PaymentOrder.filter(provider=provider, paid_at__isnull=False)
            if _on_day(o.paid_at, day, settings)
        }
        refunded = {
            r.out_refund_no: r.amount
            for r in await Refund.filter(order__provider=provider, status=RefundStatus.SUCCEEDED)
            if _on_day(r.succeeded_at, day, settings)
        }
        billed_payments = {line.out_trade_no: line.amount for line in bill if line.kind is BillKind.PAYMENT}
        billed_refunds = {line.out_refund_no: line.amount for line in bill if line.kind is BillKind.REFUND}
        mismatches += await _compare(name, "payment", "paid", paid, billed_payments, _order_state)
        mismatches += await _compare(name, "refund", "refunded", refunded, billed_refunds, _refund_state)
    return mismatches


async def _compare(
    provider: str,
    kind: str,
    verb: str,
    local: dict[str, int],
    billed: dict[str, int],
    local_state: Callable[[str], Awaitable[str]],
) -> list[Mismatch]:
    """Amounts by number on both sides: each number missing from one side, or with another amount."""
    found: list[Mismatch] = []
    for number, amount in local.items():
        billed_amount = billed.get(number)
        if billed_amount != amount:
            provider_side = "missing" if billed_amount is None else f"{verb} {billed_amount}"
            found.append(Mismatch(provider, kind, number, f"{verb} {amount}", provider_side))
    for number, amount in billed.items():
        if number not in local:
            found.append(Mismatch(provider, kind, number, await local_state(number), f"{verb} {amount}"))
    return found


async def _order_state(number: str) -> str:
    row = await PaymentOrder.get_or_none(out_trade_no=number)
    return f"{row.status.value}, not paid that day" if row else "unknown order"


async def _refund_state(number: str) -> str:
    row = await Refund.get_or_none(out_refund_no=number)
    return row.status.value if row else "unknown refund"
