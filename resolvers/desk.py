"""The registration desk and staff tools: staff accounts, walk-ins (现场挂号) paid at the window,
and administrators' partial refunds."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import audit
from models.accounts import ACCOUNT_AUDIT_FIELDS, Account, PhoneTaken, Role, StaffDepartment
from models.booking import Booking
from models.booking.desk import RealName, WalkIn, register_walk_in, walk_in_patient
from models.catalogue import Department
from models.clock import utcnow
from models.errors import InvalidInput, NotFound
from models.identity import normalise_resident_id, resident_id_problem
from models.payments import PaymentOrder, PaymentStatus, RefundExceedsPaid, paid_for_booking
from models.scheduling import Schedule
from resolvers.accounts import clean_name, clean_password, clean_phone, hash_password_off_loop
from resolvers.booking import booking_policy, checked_idempotency_key
from resolvers.context import Context
from resolvers.payments import refund_order

STAFF_ROLES = frozenset({Role.REGISTRAR, Role.ADMIN})


async def create_staff_account(
    context: Context, phone: str, password: str, name: str, role: Role, department_ids: list[int]
) -> Account:
    """An administrator creates a registrar (with the departments they serve) or another administrator.
    Doctors are created with their profile (createDoctor)."""
    if role not in STAFF_ROLES:
        raise InvalidInput("role", "createStaffAccount makes registrars and administrators; use createDoctor")
    phone, name = clean_phone(phone), clean_name(name)
    departments = sorted(set(department_ids))
    if role is Role.REGISTRAR and not departments:
        raise InvalidInput("departmentIds", "a registrar serves at least one department")
    if await Department.filter(id__in=departments).count() != len(departments):
        raise InvalidInput("departmentIds", "no such department")
    password_hash = await hash_password_off_loop(clean_password(password))
    try:
        async with in_transaction():
            account = await Account.create(phone=phone, password_hash=password_hash, name=name, role=role)
            await StaffDepartment.bulk_create(
                [StaffDepartment(account_id=account.id, department_id=d) for d in departments]
            )
            await audit.record(
                context.viewer.account_id,
                "account.create_staff",
                "account",
                account.id,
                after={**audit.snapshot(account, ACCOUNT_AUDIT_FIELDS), "department_ids": departments},
            )
            return account
    except IntegrityError:
        raise PhoneTaken() from None


def _real_name(name: str | None, id_number: str | None, phone: str | None) -> RealName:
    if not (name and id_number and phone):
        raise InvalidInput(
            "patientId", "give an existing patient, or the name, ID number and phone of a new one"
        )
    problem = resident_id_problem(id_number)
    if problem:
        raise InvalidInput("idNumber", problem)
    return RealName(clean_name(name), normalise_resident_id(id_number), clean_phone(phone))


async def register_walk_in_at_desk(
    context: Context,
    schedule_id: int,
    patient_id: int | None,
    person: tuple[str | None, str | None, str | None],
    payment_method: str,
    idempotency_key: str,
) -> Booking:
    key = checked_idempotency_key(idempotency_key)
    viewer = context.viewer
    schedule = await Schedule.get_or_none(id=schedule_id)
    if schedule is None:
        raise NotFound("no such session")
    if not viewer.is_admin:
        served = StaffDepartment.filter(account_id=viewer.account_id, department_id=schedule.department_id)
        if not await served.exists():
            raise NotFound("no such session")
    now = utcnow()
    async with in_transaction():
        if patient_id is None:
            patient_id = (await walk_in_patient(_real_name(*person))).id
        return await register_walk_in(
            WalkIn(schedule_id, patient_id, payment_method, key),
            booking_policy(context.settings),
            registrar_id=viewer.account_id or 0,
            today=now.astimezone(context.settings.tz).date(),
            now=now,
        )


# -- administrators' money tool: a partial refund through the payments' own refund path


async def refund_booking(context: Context, booking_id: int, amount: int, reason: str) -> Booking:
    """Refund part (or all) of what was paid online for a booking, with a reason; never more."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", "say why the money goes back")
    if amount <= 0:
        raise InvalidInput("amount", "refund a positive amount of fen")
    booking = await Booking.get_or_none(id=booking_id)
    if booking is None:
        raise NotFound("no such booking")
    if amount > await paid_for_booking(booking_id):
        raise RefundExceedsPaid()
    left = amount
    for order in await PaymentOrder.filter(booking_id=booking_id, status=PaymentStatus.PAID).order_by("-id"):
        take = min(left, order.paid_amount - order.refund_reserved)
        if take > 0:
            await refund_order(context.settings, order.id, reason, take)
            left -= take
    async with in_transaction():
        await audit.record(
            context.viewer.account_id,
            "booking.refund",
            "booking",
            booking_id,
            after={"amount": amount},
            reason=reason[:255],
        )
    return booking
