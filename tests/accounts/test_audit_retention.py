from __future__ import annotations

from datetime import timedelta

from models.audit import AuditEntry, purge_expired, record
from models.clock import utcnow


async def test_entries_older_than_the_retention_period_are_purged() -> None:
    old = await record(1, "department.update", "department", 1)
    recent = await record(1, "department.update", "department", 2)
    await AuditEntry.filter(id=old.id).update(at=utcnow() - timedelta(days=184))
    await AuditEntry.filter(id=recent.id).update(at=utcnow() - timedelta(days=182))

    purged = await purge_expired(retention_days=183)

    assert purged == 1
    assert await AuditEntry.all().values_list("target_id", flat=True) == ["2"]
