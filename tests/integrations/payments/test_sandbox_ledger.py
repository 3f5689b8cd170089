"""The sandbox's own ledger is a small aggregate with one writer: every pair of trade statuses is
tried, and a trade moves only where its table allows (a paid trade stays paid, as at a real provider)."""

from __future__ import annotations

from itertools import product

import pytest

from integrations.payments.sandbox.ledger import TRADE_TRANSITIONS, SandboxTrade, move_trade

STATUSES = sorted(TRADE_TRANSITIONS)


@pytest.mark.parametrize(("current", "target"), list(product(STATUSES, STATUSES)))
async def test_a_trade_moves_exactly_when_its_table_allows_it(current: str, target: str) -> None:
    number = f"SBX-{current}-{target}"
    await SandboxTrade.create(out_trade_no=number, amount=500, status=current, trade_no="T1")

    moved = await move_trade(number, target)

    trade = await SandboxTrade.get(out_trade_no=number)
    assert moved is (target in TRADE_TRANSITIONS[current])
    assert trade.status == (target if moved else current)
    assert (trade.paid_at is not None) is (moved and target == "SUCCESS")
