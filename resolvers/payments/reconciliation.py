"""Reconciliation: our paid orders and settled refunds of a day against each provider's bill."""

from __future__ import annotations

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
