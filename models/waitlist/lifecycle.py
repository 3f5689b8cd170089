"""An entry's life outside allocation: the deadline, an unpaid joining fee, a paid one. Each change
goes through models/reactions.py, which tells the patient and refunds or closes what must be."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from models.clock import utcnow
from models.errors import InvalidTransition
from models.reactions import move_entry
from models.waitlist.entries import WaitlistEntry, WaitlistStatus

W = WaitlistStatus


async def expire_due(now: datetime | None = None, limit: int = 200) -> list[WaitlistEntry]:
    """Entries still waiting at their deadline end; exactly once (conditional move)."""
    now = now or utcnow()
    ended: list[WaitlistEntry] = []
    for entry in (
        await WaitlistEntry.filter(status=W.WAITING, deadline__lte=now).order_by("deadline").limit(limit)
    ):
        try:
            async with in_transaction():
                await move_entry(entry, W.EXPIRED, reason="nothing came free before the deadline")
            ended.append(entry)
        except InvalidTransition:
            continue
    return ended


async def lapse_unpaid(now: datetime | None = None, limit: int = 200) -> list[WaitlistEntry]:
    """Entries not paid by the end of their payment hold end, once (conditional move)."""
    now = now or utcnow()
    lapsed: list[WaitlistEntry] = []
    for entry in (
        await WaitlistEntry.filter(status=W.AWAITING_PAYMENT, payment_expires_at__lte=now)
        .order_by("payment_expires_at")
        .limit(limit)
    ):
        try:
            async with in_transaction():
                await move_entry(entry, W.EXPIRED, reason="the joining fee was not paid in time")
            lapsed.append(entry)
        except InvalidTransition:
            continue  # paid (or left) a moment ago
    return lapsed


async def admit_paid(entry_id: int, order_id: int, amount: int, paid_at: datetime) -> bool:
    """The joining fee arrived: the entry enters the line, ordered by payment time. Call inside the
    transaction that marks the order PAID. False when the entry is no longer waiting for payment
    (it lapsed, was left, or another order paid it first): the caller refunds this money."""
    entry = await WaitlistEntry.get_or_none(id=entry_id)
    if entry is None or entry.status is not W.AWAITING_PAYMENT or entry.deadline <= paid_at:
        return False
    try:
        await move_entry(
            entry,
            W.WAITING,
            fee_paid=amount,
            joined_at=paid_at,
            payment_order_id=order_id,
            payment_expires_at=None,
        )
    except InvalidTransition:
        return False
    return True
