"""The payment order's one transition table, walked: every pair of statuses is tried, every allowed
change works once and writes its event, every other is refused and changes nothing."""

from __future__ import annotations

from itertools import product

import pytest
from tortoise.transactions import in_transaction

from models.errors import InvalidTransition
from models.payments import (
    TRANSITIONS,
    PaymentEvent,
    PaymentOrder,
    PaymentStatus,
)
from models.reactions import change_order
from tests.payments.operations import order_in

ALLOWED = {(current, target) for current, targets in TRANSITIONS.items() for target in targets}


def test_the_table_allows_nine_changes() -> None:
    assert len(ALLOWED) == 9
    assert set(TRANSITIONS) == set(PaymentStatus)


@pytest.mark.parametrize(("current", "target"), list(product(PaymentStatus, PaymentStatus)))
async def test_a_change_happens_exactly_when_the_table_allows_it(
    current: PaymentStatus, target: PaymentStatus
) -> None:
    order = await order_in(current, f"T-{current.value}-{target.value}")
    raw = {"provider": "says so"}

    try:
        async with in_transaction():
            await change_order(order, target, raw=raw, reason="walk")
        changed = True
    except InvalidTransition:
        changed = False

    fresh = await PaymentOrder.get(id=order.id)
    events = await PaymentEvent.filter(order_id=order.id).values_list("from_status", "to_status", "payload")
    assert changed is ((current, target) in ALLOWED)
    if changed:
        assert (fresh.status, events) == (target, [(current.value, target.value, raw)])
        # Only an order a client may still pay keeps its open key.
        assert fresh.open_key == (fresh.out_trade_no if target is PaymentStatus.CREATED else None)
    else:
        assert (fresh.status, events) == (current, [])


async def test_updates_never_carry_the_status() -> None:
    order = await order_in(PaymentStatus.CREATED, "T-carry")

    with pytest.raises(ValueError, match="status"):
        async with in_transaction():
            await change_order(order, PaymentStatus.CLOSED, raw=None, updates={"status": PaymentStatus.PAID})

    assert (await PaymentOrder.get(id=order.id)).status is PaymentStatus.CREATED
    assert await PaymentEvent.filter(order_id=order.id).count() == 0


async def test_the_loser_of_a_race_changes_nothing() -> None:
    order = await order_in(PaymentStatus.CREATED, "T-race")
    stale_copy = await PaymentOrder.get(id=order.id)
    async with in_transaction():
        await change_order(order, PaymentStatus.PAID, raw=None)

    with pytest.raises(InvalidTransition, match="payment order cannot go from paid to closed"):
        async with in_transaction():
            await change_order(stale_copy, PaymentStatus.CLOSED, raw=None)

    assert (await PaymentOrder.get(id=order.id)).status is PaymentStatus.PAID
