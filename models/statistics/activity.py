"""Daily activity: one row per account per local day it used the API (DAU, MAU; docs/decisions/183).

Cheap: each process remembers which accounts it has already recorded today and writes only new ones,
in batches, with an insert that ignores rows another process wrote first (the unique key decides), so
two or more processes never count an account twice.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tortoise import connections

from models.statistics.metrics import local_day

BATCH = 200
FLUSH_SECONDS = 5.0

_recorded: set[tuple[int, date]] = set()
_pending: set[tuple[int, date]] = set()
_oldest_pending = 0.0

_ON_CONFLICT = (
    "INSERT INTO stat_activity (day, account_id) VALUES {rows} ON CONFLICT (account_id, day) DO NOTHING"
)
_INSERT = {
    "sqlite": _ON_CONFLICT,
    "postgres": _ON_CONFLICT,
    "mysql": "INSERT IGNORE INTO stat_activity (day, account_id) VALUES {rows}",
}


async def seen(account_id: int, at: datetime, tz: ZoneInfo) -> None:
    """The account used the API at `at`: remembered, and written with the next batch."""
    global _oldest_pending
    key = (account_id, local_day(at, tz))
    if key in _recorded or key in _pending:
        return
    if not _pending:
        _oldest_pending = time.monotonic()
    _pending.add(key)
    if len(_pending) >= BATCH or time.monotonic() - _oldest_pending >= FLUSH_SECONDS:
        await flush()


async def flush() -> int:
    """Write what is pending (also run periodically, so a quiet process writes its last few)."""
    if not _pending:
        return 0
    batch = sorted(_pending)
    _pending.difference_update(batch)
    client = connections.get("default")
    dialect = client.capabilities.dialect
    values: list[object] = []
    marks = []
    for index, (account_id, day) in enumerate(batch):
        values.extend([day.isoformat() if dialect == "sqlite" else day, account_id])
        if dialect == "postgres":
            marks.append(f"(${2 * index + 1}, ${2 * index + 2})")
        else:
            mark = "?" if dialect == "sqlite" else "%s"
            marks.append(f"({mark}, {mark})")
    try:
        await client.execute_query(_INSERT[dialect].format(rows=", ".join(marks)), values)
    except Exception:
        _pending.update(batch)  # written with the next batch
        raise
    today = max(day for _, day in batch)
    if len(_recorded) > 500_000:
        _recorded.clear()
    _recorded.update(key for key in batch if key[1] == today)
    return len(batch)


def forget() -> None:
    """Tests: start from nothing remembered."""
    _recorded.clear()
    _pending.clear()
