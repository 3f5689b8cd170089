"""Async factories with overrides: each makes a valid row and lets a test say only what matters."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.expressions import F

from gualema.settings import get_settings
from models.access_tokens import issue_access_token
from models.accounts import Account, IdKind, Patient, Relation, Role
from models.booking import Booking, BookingStatus
from models.booking.tables import active_department_day_key, active_session_key
from models.catalogue import Department, Doctor, RegistrationType, Room
from models.clock import utcnow
from models.identity import mask_id_number
from models.passwords import hash_password
from models.personal_data import keyring
from models.queueing import LIVE, QueueTicket, TicketState
from models.scheduling import Period, Schedule, Slot, seat_counters

_sequence = itertools.count(1)
PASSWORD = "secret123"
_PASSWORD_HASH: str | None = None


def unique_phone() -> str:
    return f"139{next(_sequence) % 10**8:08d}"


def resident_id(birth: str = "19900307", region: str = "110105") -> str:
    body = f"{region}{birth}{random.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


def token_for(account: Account, minutes: int = 15) -> str:
    token, _ = issue_access_token(
        get_settings().secret_key.get_secret_value(),
        subject=account.id,
        role=account.role.value,
        lifetime=timedelta(minutes=minutes),
    )
    return token


def _password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


@dataclass
class Actor:
    account: Account
    token: str

    @property
    def id(self) -> int:
        return int(self.account.id)


async def account(role: Role = Role.PATIENT, **overrides: Any) -> Actor:
    values: dict[str, Any] = {
        "phone": unique_phone(),
        "password_hash": _password_hash(),
        "name": "张三",
        "role": role,
    }
    values.update(overrides)
    row = await Account.create(**values)
    return Actor(row, token_for(row))


async def patient_user(**overrides: Any) -> Actor:
    return await account(Role.PATIENT, **overrides)


async def admin_user(**overrides: Any) -> Actor:
    return await account(Role.ADMIN, **{"name": "管理员", **overrides})


async def patient(owner: Actor | Account, **overrides: Any) -> Patient:
    holder = owner.account if isinstance(owner, Actor) else owner
    number = overrides.pop("id_number", None) or resident_id()
    ring = keyring()
    lookup = ring.lookup_hash(f"{IdKind.RESIDENT_ID.value}:{number}")
    values: dict[str, Any] = {
        "account": holder,
        "name": holder.name,
        "relation": Relation.SELF,
        "id_kind": IdKind.RESIDENT_ID,
        "id_number_cipher": ring.encrypt(number, context=f"patient-id:{lookup}"),
        "id_number_hash": lookup,
        "id_number_masked": mask_id_number(number),
        "phone": holder.phone,
    }
    values.update(overrides)
    return await Patient.create(**values)


async def department(**overrides: Any) -> Department:
    n = next(_sequence)
    values: dict[str, Any] = {"name": f"内科{n}", "code": f"D{n}", "building": "门诊楼", "floor": "2F"}
    values.update(overrides)
    return await Department.create(**values)


async def room(dept: Department | None = None, **overrides: Any) -> Room:
    values: dict[str, Any] = {"name": f"诊室{next(_sequence)}", "department": dept or await department()}
    values.update(overrides)
    return await Room.create(**values)


async def registration_type(**overrides: Any) -> RegistrationType:
    values: dict[str, Any] = {"name": f"普通号{next(_sequence)}", "fee": 1000}
    values.update(overrides)
    return await RegistrationType.create(**values)


async def doctor(dept: Department | None = None, **overrides: Any) -> tuple[Doctor, Actor]:
    dept = dept or await department()
    login = await account(Role.DOCTOR, name=overrides.get("name", "李医生"))
    values: dict[str, Any] = {
        "account": login.account,
        "name": "李医生",
        "title": "主治医师",
        "department": dept,
        "room": overrides.pop("room", None) or await room(dept),
    }
    values.update(overrides)
    return await Doctor.create(**values), login


async def session(
    *,
    capacity: int = 10,
    slot_count: int = 1,
    fee: int = 0,
    starts_in: timedelta = timedelta(days=1),
    duration: timedelta = timedelta(hours=4),
    released: bool = True,
    doctor_row: Doctor | None = None,
    shares: dict[str, int] | None = None,
) -> Any:
    """A clinic session (排班) with `slot_count` slots sharing `capacity`, released unless told not.
    With `shares` (registration type settings such as followup_share_percent) the slots are cut into
    the reserved counters as a real session's are; without, every seat is in the general pool."""
    doc = doctor_row or (await doctor())[0]
    reg = await registration_type(fee=fee, **(shares or {}))
    starts_at = (utcnow() + starts_in).replace(microsecond=0)
    release_at = utcnow() - timedelta(hours=1) if released else utcnow() + timedelta(hours=1)
    row = await Schedule.create(
        doctor_id=doc.id,
        department_id=doc.department_id,
        registration_type=reg,
        room_id=doc.room_id,
        date=starts_at.date(),
        period=Period.MORNING,
        starts_at=starts_at,
        ends_at=starts_at + duration,
        slot_minutes=int(duration.total_seconds() // 60 // slot_count),
        capacity=capacity,
        fee=fee,
        release_at=release_at,
        next_number=capacity + 1,
    )
    step = duration / slot_count
    base, extra = divmod(capacity, slot_count)
    first = 1
    for i in range(slot_count):
        seats = base + (1 if i < extra else 0)
        counters = seat_counters(seats, reg) if shares else {"remaining": seats}
        await Slot.create(
            schedule=row,
            starts_at=starts_at + step * i,
            ends_at=starts_at + step * (i + 1),
            capacity=seats,
            **counters,
            first_number=first,
            block_size=seats,
        )
        first += seats
    return row


@dataclass
class HeldBooking:
    """A PENDING_PAYMENT booking holding one seat (payments tests make it without the booking engine)."""

    owner: Actor
    booking: Any
    slot: Any


async def held_booking(
    owner: Actor | None = None, *, fee: int = 1500, hold: timedelta = timedelta(minutes=15)
) -> HeldBooking:
    owner = owner or await patient_user()
    person = await patient(owner)
    doc, _ = await doctor()
    reg = await registration_type(fee=fee)
    starts_at = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    schedule = await Schedule.create(
        doctor_id=doc.id,
        department_id=doc.department_id,
        registration_type=reg,
        room_id=doc.room_id,
        date=starts_at.date(),
        period=Period.MORNING,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=4),
        slot_minutes=240,
        capacity=1,
        fee=fee,
        release_at=utcnow() - timedelta(hours=1),
        next_number=2,
    )
    # The one seat is taken by this booking's hold.
    slot = await Slot.create(
        schedule=schedule,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=4),
        capacity=1,
        remaining=0,
    )
    booking = await Booking.create(
        account_id=owner.id,
        patient_id=person.id,
        schedule_id=schedule.id,
        slot_id=slot.id,
        department_id=doc.department_id,
        visit_date=schedule.date,
        slot_starts_at=slot.starts_at,
        slot_ends_at=slot.ends_at,
        status=BookingStatus.PENDING_PAYMENT,
        queue_number=1,
        fee=fee,
        expires_at=utcnow() + hold,
        active_session_key=active_session_key(person.id, schedule.id),
        active_department_day_key=active_department_day_key(person.id, doc.department_id, schedule.date),
        idempotency_key=f"pay-test-{next(_sequence)}",
        request_fingerprint="x",
    )
    return HeldBooking(owner, booking, slot)


# -- queue calling (issue 5): CONFIRMED bookings for today, made directly with the ORM


async def clinic_today(doctor_row: Doctor | None = None, **doctor_overrides: Any) -> Any:
    """A session running now (started an hour ago, ends in three) in the doctor's room."""
    doc = doctor_row or (await doctor(**doctor_overrides))[0]
    now = utcnow().replace(microsecond=0)
    return await Schedule.create(
        doctor_id=doc.id,
        department_id=doc.department_id,
        registration_type=await registration_type(),
        room_id=doc.room_id,
        date=now.astimezone(get_settings().tz).date(),
        period=Period.CUSTOM,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        slot_minutes=30,
        capacity=100,
        fee=1000,
        release_at=now - timedelta(days=1),
        next_number=1,
    )


async def confirmed_booking(
    schedule: Any,
    owner: Actor | None = None,
    *,
    number: int | None = None,
    patient_name: str = "张小三",
    slot_starts_in: timedelta = timedelta(minutes=-10),
    slot_minutes: int = 30,
    id_number: str | None = None,
) -> Any:
    """A CONFIRMED (paid) booking of `schedule` whose slot starts `slot_starts_in` from now."""
    owner = owner or await patient_user(name=patient_name)
    person = await patient(owner, name=patient_name, id_number=id_number)
    if number is None:
        await Schedule.filter(id=schedule.id).update(next_number=F("next_number") + 1)
        number = (await Schedule.get(id=schedule.id)).next_number - 1
    starts_at = utcnow().replace(microsecond=0) + slot_starts_in
    slot = await Slot.create(
        schedule_id=schedule.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=slot_minutes),
        capacity=1,
        remaining=0,
    )
    return await Booking.create(
        account_id=owner.id,
        patient_id=person.id,
        schedule_id=schedule.id,
        slot_id=slot.id,
        department_id=schedule.department_id,
        visit_date=schedule.date,
        slot_starts_at=slot.starts_at,
        slot_ends_at=slot.ends_at,
        status=BookingStatus.CONFIRMED,
        queue_number=number,
        fee=schedule.fee,
        active_session_key=active_session_key(person.id, schedule.id),
        active_department_day_key=active_department_day_key(person.id, schedule.department_id, schedule.date),
        idempotency_key=f"queue-test-{next(_sequence)}",
        request_fingerprint="x",
    )


async def queue_ticket(booking: Any, state: Any = None) -> Any:
    """A ticket for `booking` in its schedule's room, checked in now (WAITING unless `state` is given)."""
    state = state or TicketState.WAITING
    schedule = await booking.schedule
    return await QueueTicket.create(
        booking_id=booking.id,
        room_id=schedule.room_id,
        department_id=schedule.department_id,
        account_id=booking.account_id,
        visit_date=booking.visit_date,
        label=f"A{booking.queue_number:03d}",
        number=booking.queue_number,
        display_name="张*三",
        state=state,
        rank=booking.queue_number * 1000,
        checked_in_at=utcnow(),
        live_booking_key=booking.id if state in LIVE else None,
    )
