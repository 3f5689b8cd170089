from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.clock import utcnow


class AuditEntry(Model):
    # Who did what, when, with the state before and after. Never holds a full ID number: snapshots
    # are built from an explicit list of fields per table (see `snapshot`).

    id = fields.BigIntField(primary_key=True)
    actor_id = fields.IntField(null=True, db_index=True)
    action = fields.CharField(max_length=64, db_index=True)
    target_type = fields.CharField(max_length=32, db_index=True)
    target_id = fields.CharField(max_length=64)
    before: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    reason = fields.CharField(max_length=255, default="")
    at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_entry"


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(row: Model, field_names: tuple[str, ...]) -> dict[str, Any]:
    """The audited state of a row: only the named fields, so a secret column can never slip in."""
    return {name: _plain(getattr(row, name)) for name in field_names}


async def record(
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    return await AuditEntry.create(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        reason=reason[:255],
    )


async def purge_expired(retention_days: int) -> int:
    return await AuditEntry.filter(at__lt=utcnow() - timedelta(days=retention_days)).delete()
