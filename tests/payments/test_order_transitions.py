"""The payment order's one transition table, walked: every allowed change works, every other is refused."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from models.errors import InvalidTransition
from models.payments import (
    TRANSITIONS,
    PaymentEvent,
    PaymentOrder,
    PaymentProvider,
    PaymentStatus,
    transition_order,
)
from tests import factories


async def order_in(status: PaymentStatus, held: factories.HeldBooking, number: str) -> PaymentOrder:
    assert held.booking.expires_at is not None
    return await PaymentOrder.create(
        booking_id=held.booking.id,
        account_id=held.owner.id,
        provider=PaymentProvider.SANDBOX,
        out_trade_no=number,
        amount=1500,
        status=status,
        expires_at=held.booking.expires_at,
    )


async def test_every_pair_of_statuses() -> None:
    held = await factories.held_booking()
    raw = {"provider": "says so"}
    outcomes: dict[tuple[PaymentStatus, PaymentStatus], bool] = {}

    for current in PaymentStatus:
        for target in PaymentStatus:
            order = await order_in(current, held, f"T-{current.value}-{target.value}")
            try:
                async with in_transaction():
                    await transition_order(order, target, raw=raw, reason="walk")
                outcomes[current, target] = True
            except InvalidTransition:
                outcomes[current, target] = False
            fresh = await PaymentOrder.get(id=order.id)
            events = await PaymentEvent.filter(order_id=order.id).values_list(
                "from_status", "to_status", "payload"
            )
            if outcomes[current, target]:
                assert (fresh.status, events) == (target, [(current.value, target.value, raw)])
            else:
                assert (fresh.status, events) == (current, [])

    assert {pair for pair, allowed in outcomes.items() if allowed} == {
        (current, target) for current, targets in TRANSITIONS.items() for target in targets
    }
    assert sum(outcomes.values()) == 9


async def test_the_loser_of_a_race_changes_nothing() -> None:
    order = await order_in(PaymentStatus.CREATED, await factories.held_booking(), "T-race")
    stale_copy = await PaymentOrder.get(id=order.id)
    async with in_transaction():
        await transition_order(order, PaymentStatus.PAID, raw=None)

    with pytest.raises(InvalidTransition, match="payment order cannot go from paid to closed"):
        async with in_transaction():
            await transition_order(stale_copy, PaymentStatus.CLOSED, raw=None)

    assert (await PaymentOrder.get(id=order.id)).status is PaymentStatus.PAID
