"""The registration desk (现场挂号): walk-ins registered by front-desk staff into today's sessions,
through the one placement (its desk dialect), paid at the window (docs/decisions/190-desk-share.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tortoise.transactions import in_transaction

from models.accounts import Account, IdKind, Patient, Relation, Role, seal_id_number
from models.booking.placement import BookingPolicy, BookingRequest, DeskSeat, Placed, place_booking
from models.booking.rules import SlotUnavailable
from models.booking.tables import Booking, DeskPayment, desk_key
from models.errors import InvalidInput, NotFound
from models.scheduling import Schedule, Slot


@dataclass(frozen=True)
class WalkIn:
    schedule_id: int
    patient_id: int
    payment_method: str
    idempotency_key: str


@dataclass(frozen=True)
class RealName:
    """A person read from an ID card (or typed in) at the window; already validated and normalised."""

    name: str
    id_number: str
    phone: str


async def walk_in_patient(person: RealName) -> Patient:
    """The person's 就诊人 under the account of their phone, both created when new. Inside a
    transaction. A desk-made account has no password: its owner signs in with an SMS code."""
    account = await Account.get_or_none(phone=person.phone)
    if account is None:
        account = await Account.create(phone=person.phone, name=person.name, role=Role.PATIENT)
    sealed = seal_id_number(IdKind.RESIDENT_ID, person.id_number)
    patient = await Patient.get_or_none(account_id=account.id, id_number_hash=sealed.lookup_hash)
    if patient is None:
        has_self = await Patient.filter(account_id=account.id, relation=Relation.SELF).exists()
        patient = await Patient.create(
            account_id=account.id,
            name=person.name,
            relation=Relation.OTHER if has_self else Relation.SELF,
            id_kind=IdKind.RESIDENT_ID,
            id_number_cipher=sealed.cipher,
            id_number_hash=sealed.lookup_hash,
            id_number_masked=sealed.masked,
            phone=person.phone,
        )
    elif patient.archived_at is not None:
        patient.archived_at = None
        await patient.save(update_fields=["archived_at"])
    return patient


async def register_walk_in(
    walk_in: WalkIn, policy: BookingPolicy, *, registrar_id: int, today: date, now: datetime
) -> Booking:
    """Place the walk-in into the session's first slot that has not ended and has a desk or online
    seat, and record the desk payment. Call inside a transaction."""
    patient = await Patient.get_or_none(id=walk_in.patient_id, archived_at__isnull=True)
    if patient is None:
        raise NotFound("no such patient")
    method = walk_in.payment_method.strip()
    if not method or len(method) > 32:
        raise InvalidInput(
            "paymentMethod", "name the payment method (cash, card, 医保卡 …), up to 32 characters"
        )
    key = desk_key(walk_in.idempotency_key)
    earlier = await Booking.get_or_none(account_id=patient.account_id, idempotency_key=key)
    if earlier is not None:
        return earlier  # the window pressed twice
    if not await Schedule.filter(id=walk_in.schedule_id).exists():
        raise NotFound("no such session")
    slots = await Slot.filter(schedule_id=walk_in.schedule_id).order_by("starts_at")
    open_first = sorted(slots, key=lambda slot: (slot.ends_at <= now, slot.starts_at))
    with_seats = [slot for slot in open_first if slot.remaining + slot.desk_remaining > 0] or open_first[:1]
    placed: Placed | None = None
    for slot in with_seats:
        request = BookingRequest(patient.account_id, slot.id, patient.id, key)
        try:
            async with in_transaction():  # a savepoint: a seat gone meanwhile tries the next slot
                placed = await place_booking(request, policy, now, desk=DeskSeat(today, settled=True))
            break
        except SlotUnavailable:
            if slot is with_seats[-1]:
                raise
    assert placed is not None
    booking = placed.booking
    if booking.fee > 0:
        await DeskPayment.create(
            booking_id=booking.id,
            method=method,
            amount=booking.fee,
            receipt_no=f"D{today:%Y%m%d}{booking.id:08d}",
            registrar_id=registrar_id,
        )
    return booking
