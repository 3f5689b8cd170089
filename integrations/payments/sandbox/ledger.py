"""The sandbox provider's own ledger: its side of the bill, apart from our orders.

The tables keep the names they had when they lived in `models/payments.py` (`sandbox_trade`,
`sandbox_refund`), in tortoise's `models` app (gualema/database.py registers this module), so the
initial migration still describes them. A trade is its own small aggregate: `TRADE_TRANSITIONS` is
its table and `move_trade` the one function that changes its status (docs/decisions/131).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise import fields
from tortoise.models import Model

NOTPAY = "NOTPAY"
SUCCESS = "SUCCESS"
CLOSED = "CLOSED"
PAYERROR = "PAYERROR"

# What the payer (or a close) can do to a sandbox trade; like the real providers', a paid trade stays paid.
TRADE_TRANSITIONS: dict[str, frozenset[str]] = {
    NOTPAY: frozenset({SUCCESS, PAYERROR, CLOSED}),
    PAYERROR: frozenset({CLOSED}),
    SUCCESS: frozenset(),
    CLOSED: frozenset(),
}


class SandboxTrade(Model):
    id = fields.IntField(primary_key=True)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    amount = fields.IntField()
    status = fields.CharField(max_length=16)  # NOTPAY, SUCCESS, CLOSED, PAYERROR
    trade_no = fields.CharField(max_length=64)
    paid_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sandbox_trade"
        app = "models"


class SandboxRefund(Model):
    id = fields.IntField(primary_key=True)
    out_refund_no = fields.CharField(max_length=64, unique=True)
    out_trade_no = fields.CharField(max_length=32, db_index=True)
    amount = fields.IntField()
    refund_no = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sandbox_refund"
        app = "models"


def utcnow() -> datetime:
    return datetime.now(UTC)


async def move_trade(out_trade_no: str, target: str) -> bool:
    """Move the trade to `target` from every status the table allows; whether it moved.

    One conditional UPDATE: of two concurrent moves exactly one applies.
    """
    sources = [status for status, targets in TRADE_TRANSITIONS.items() if target in targets]
    values: dict[str, Any] = {"paid_at": utcnow()} if target == SUCCESS else {}
    values["status"] = target
    return await SandboxTrade.filter(out_trade_no=out_trade_no, status__in=sources).update(**values) == 1
