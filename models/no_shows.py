"""爽约: bookings not checked in when their session ends become NO_SHOW; repeated no-shows block
online booking for a while. The block is keyed by the person's identity hash, not the patient row,
so adding the same person again (or under another account) does not lift it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.clock import utcnow
from models.errors import InvalidInput, NotFound


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


async def sweep_no_shows(policy: NoShowPolicy, now: datetime | None = None, limit: int = 50) -> int:
    """For each session that has ended, once: CONFIRMED bookings become NO_SHOW, then patients who
    reached the threshold inside the window are blocked. The session is claimed with a conditional
    UPDATE of `no_shows_swept` inside the same transaction, so several processes never double-count."""
    from models.accounts import Patient
    from models.booking import Booking, BookingStatus, transition
    from models.scheduling import Schedule

    now = now or utcnow()
    ended = await Schedule.filter(ends_at__lte=now, no_shows_swept=False).order_by("ends_at").limit(limit)
    marked = 0
    for schedule in ended:
        async with in_transaction():
            claimed = await Schedule.filter(id=schedule.id, no_shows_swept=False).update(no_shows_swept=True)
            if claimed != 1:
                continue
            missed = await Booking.filter(schedule_id=schedule.id, status=BookingStatus.CONFIRMED)
            for booking in missed:
                await transition(
                    booking,
                    BookingStatus.NO_SHOW,
                    actor_id=None,
                    reason="not checked in by session end",
                    at=now,
                )
                marked += 1
            patient_ids = {b.patient_id for b in missed}  # type: ignore[attr-defined]
            for patient in await Patient.filter(id__in=list(patient_ids)):
                await _block_if_due(patient.id, patient.account_id, patient.id_number_hash, policy, now)  # type: ignore[attr-defined]
    return marked


async def _block_if_due(
    patient_id: int, account_id: int, identity_hash: str, policy: NoShowPolicy, now: datetime
) -> None:
    from models.accounts import Patient
    from models.booking import Booking, BookingStatus

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
            patient_id=patient_id,
            account_id=account_id,
            no_shows=count,
            starts_at=now,
            ends_at=now + timedelta(days=policy.block_days),
        )


async def lift_block(
    block_id: int, *, actor_id: int | None, reason: str, now: datetime | None = None
) -> NoShowBlock:
    from models import audit

    if not reason.strip():
        raise InvalidInput("reason", "say why the block is lifted")
    now = now or utcnow()
    block = await NoShowBlock.get_or_none(id=block_id)
    if block is None:
        raise NotFound("no such block")
    lifted = await NoShowBlock.filter(id=block_id, lifted_at__isnull=True).update(
        lifted_at=now, lifted_by=actor_id, lift_reason=reason[:255]
    )
    if lifted != 1:
        raise InvalidInput("blockId", "this block is already lifted")
    await audit.record(actor_id, "no_show_block.lift", "no_show_block", block_id, reason=reason)
    await block.refresh_from_db()
    return block


async def blocks_of_account(account_id: int, now: datetime) -> list[NoShowBlock]:
    """Blocks in force for any patient of the account (the patient sees when each ends)."""
    from models.accounts import Patient

    hashes = await Patient.filter(account_id=account_id, archived_at__isnull=True).values_list(
        "id_number_hash", flat=True
    )
    return await NoShowBlock.filter(
        identity_hash__in=list(hashes), ends_at__gt=now, lifted_at__isnull=True
    ).order_by("ends_at")
