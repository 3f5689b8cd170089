"""Notifications through a transactional outbox (issue 7 fills in the tables and the dispatcher)."""

from __future__ import annotations

from typing import Any


async def notify(
    account_id: int,
    event: str,
    params: dict[str, Any],
    *,
    dedupe_key: str,
    sms: bool = True,
    in_app: bool = True,
) -> None:
    """Record a message for `account_id` inside the caller's transaction.

    `event` names a template (e.g. "booking.confirmed"); `params` fill it; `dedupe_key` makes the
    call idempotent (the same key never sends twice). Call it inside the transaction of the change
    that causes it, so a rolled-back change sends nothing.
    """
    return None
