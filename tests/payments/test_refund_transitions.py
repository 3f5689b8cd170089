"""A refund's one transition table, walked: asked for once (PROCESSING), settled once (SUCCEEDED or
FAILED); every pair of statuses is tried and only the table's changes happen, each with its event."""

from __future__ import annotations

from itertools import product

import pytest
from tortoise.transactions import in_transaction

from models.errors import InvalidTransition
from models.payments import (
    REFUND_TRANSITIONS,
    PaymentEvent,
    PaymentOrder,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from models.reactions import change_refund
from tests.payments.operations import order_in

ALLOWED = {(current, target) for current, targets in REFUND_TRANSITIONS.items() for target in targets}


async def refund_in(status: RefundStatus, number: str) -> tuple[PaymentOrder, Refund]:
    order = await order_in(PaymentStatus.REFUNDING, number)
    refund = await Refund.create(
        order_id=order.id, out_refund_no=f"{number}R1", amount=1500, reason="walk", status=status
    )
    return order, refund


def test_the_table_allows_two_changes_both_from_processing() -> None:
    assert {
        (RefundStatus.PROCESSING, RefundStatus.SUCCEEDED),
        (RefundStatus.PROCESSING, RefundStatus.FAILED),
    } == ALLOWED
    assert set(REFUND_TRANSITIONS) == set(RefundStatus)


@pytest.mark.parametrize(("current", "target"), list(product(RefundStatus, RefundStatus)))
async def test_a_refund_settles_exactly_when_the_table_allows_it(
    current: RefundStatus, target: RefundStatus
) -> None:
    order, refund = await refund_in(current, f"R-{current.value}-{target.value}")
    raw = {"refund_status": "said so"}

    try:
        async with in_transaction():
            await change_refund(refund, target, order=order, raw=raw, updates={"provider_refund_no": "P1"})
        changed = True
    except InvalidTransition:
        changed = False

    fresh = await Refund.get(id=refund.id)
    events = await PaymentEvent.filter(order_id=order.id).values_list(
        "kind", "refund_id", "from_status", "to_status", "payload"
    )
    assert changed is ((current, target) in ALLOWED)
    if changed:
        assert (fresh.status, fresh.provider_refund_no) == (target, "P1")
        assert events == [(f"refund_{target.value}", refund.id, current.value, target.value, raw)]
    else:
        assert (fresh.status, fresh.provider_refund_no, events) == (current, "", [])


async def test_updates_never_carry_the_status() -> None:
    order, refund = await refund_in(RefundStatus.PROCESSING, "R-carry")

    with pytest.raises(ValueError, match="status"):
        async with in_transaction():
            await change_refund(
                refund, RefundStatus.FAILED, order=order, raw=None, updates={"status": RefundStatus.SUCCEEDED}
            )

    assert (await Refund.get(id=refund.id)).status is RefundStatus.PROCESSING


async def test_of_two_settlements_of_one_refund_only_the_first_counts() -> None:
    order, refund = await refund_in(RefundStatus.PROCESSING, "R-race")
    stale_copy = await Refund.get(id=refund.id)
    async with in_transaction():
        await change_refund(refund, RefundStatus.SUCCEEDED, order=order, raw=None)

    with pytest.raises(InvalidTransition, match="refund cannot go from succeeded to failed"):
        async with in_transaction():
            await change_refund(stale_copy, RefundStatus.FAILED, order=order, raw=None)

    assert (await Refund.get(id=refund.id)).status is RefundStatus.SUCCEEDED
    assert await PaymentEvent.filter(order_id=order.id).values_list("kind", flat=True) == ["refund_succeeded"]
