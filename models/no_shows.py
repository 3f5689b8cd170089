"""爽约: bookings not checked in when their session ends become NO_SHOW; repeated no-shows block
online booking for a while. The block is keyed by the person's identity hash, not the patient row,
so adding the same person again (or under another account) does not lift it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import fields
from tortoise.models import Model

from models import audit
from models.accounts import Patient
from models.booking.status import BookingStatus
from models.booking.tables import Booking
from models.clock import utcnow
from models.errors import InvalidInput, NotFound
from models.text_rules import clean_text


class NoShowBlock(Model):
    id = fields.IntField(primary_key=True)
    identity_hash = fields.CharField(max_length=64, db_index=True)  # Patient.id_number_hash
    patient_id = fields.IntField(db_index=True)  # the patient row whose no-show triggered it
    account_id = fields.IntField(db_index=True)
    no_shows = fields.IntField()
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField(db_index=True)
    lifted_at = fields.DatetimeField(null=True)
    lifted_by = fields.IntField(null=True)
    lift_reason = fields.CharField(max_length=255, default="")

    class Meta:
        table = "no_show_block"


@dataclass(frozen=True)
class NoShowPolicy:
    threshold: int
    window_days: int
    block_days: int


async def active_block(identity_hash: str, now: datetime) -> NoShowBlock | None:
    return (
        await NoShowBlock.filter(identity_hash=identity_hash, ends_at__gt=now, lifted_at__isnull=True)
        .order_by("-ends_at")
        .first()
    )


async def block_if_due(patient: Patient, policy: NoShowPolicy, now: datetime) -> None:
    """Block the person (by identity, across patient rows and accounts) once their no-shows inside
    the window reach the threshold."""
    identity_hash = patient.id_number_hash
    if await active_block(identity_hash, now) is not None:
        return
    same_person = await Patient.filter(id_number_hash=identity_hash).values_list("id", flat=True)
    since = now - timedelta(days=policy.window_days)
    count = await Booking.filter(
        patient_id__in=list(same_person), status=BookingStatus.NO_SHOW, slot_starts_at__gte=since
    ).count()
    if count >= policy.threshold:
        await NoShowBlock.create(
            identity_hash=identity_hash,
            patient_id=patient.id,
            account_id=patient.account_id,
            no_shows=count,
            starts_at=now,
            ends_at=now + timedelta(days=policy.block_days),
        )


async def lift_block(
    block_id: int, *, actor_id: int | None, reason: str, now: datetime | None = None
) -> NoShowBlock:
    reason = clean_text(reason, field="reason", max_length=255)
    now = now or utcnow()
    block = await NoShowBlock.get_or_none(id=block_id)
    if block is None:
        raise NotFound("no such block")
    lifted = await NoShowBlock.filter(id=block_id, lifted_at__isnull=True).update(
        lifted_at=now, lifted_by=actor_id, lift_reason=reason
    )
    if lifted != 1:
        raise InvalidInput("blockId", "this block is already lifted")
    await audit.record(actor_id, "no_show_block.lift", "no_show_block", block_id, reason=reason)
    await block.refresh_from_db()
    return block


async def blocks_of_account(account_id: int, now: datetime) -> list[NoShowBlock]:
    """Blocks in force for any patient of the account (the patient sees when each ends)."""
    hashes = await Patient.filter(account_id=account_id, archived_at__isnull=True).values_list(
        "id_number_hash", flat=True
    )
    return await NoShowBlock.filter(
        identity_hash__in=list(hashes), ends_at__gt=now, lifted_at__isnull=True
    ).order_by("ends_at")
