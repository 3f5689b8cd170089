"""Booking use cases: scope the caller, open the transaction, call the domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models import no_shows, public_changes
from models.booking import Booking, BookingStatus, actions, reschedule
from models.booking.placement import BookingPolicy, BookingRequest, place_booking
from models.booking.rules import Blacklisted, NotYetReleased, SlotUnavailable
from models.booking.sold_out import sold_out_slots
from models.booking.tables import DESK_KEY_PREFIX, WAITLIST_KEY_PREFIX
from models.catalogue import Department
from models.clock import utcnow
from models.errors import DomainError, InvalidInput, NotFound
from models.no_shows import NoShowBlock, NoShowPolicy
from models.scheduling import Schedule
from models.statistics.metrics import local_day
from models.statistics.refusals import count_refusal, count_sold_out_refusals
from models.text_rules import clean_text
from resolvers import pre_consultation
from resolvers.context import Context
from resolvers.pagination import Page, keyset_page
from resolvers.scheduling import own_doctor_ids

MAX_PAGE = 100
SESSION_BOOKINGS_SHOWN = 500  # cancelled ones included; a session has far fewer seats in practice
NO_SHOW_BLOCKS_SHOWN = 50  # blocks in force over an account's patients (at most 50 patients)
CURSOR_KIND = "booking"


def booking_policy(settings: Settings) -> BookingPolicy:
    return BookingPolicy(
        hold_minutes=settings.hold_minutes,
        max_per_account_per_day=settings.max_bookings_per_account_per_day,
        writers=settings.booking_writers,
        roll_up=settings.statistics_rollup,
    )


def no_show_policy(settings: Settings) -> NoShowPolicy:
    return NoShowPolicy(
        threshold=settings.no_show_threshold,
        window_days=settings.no_show_window_days,
        block_days=settings.no_show_block_days,
    )


def count_sold_out_refusal(slot_id: int, account_id: int, now: datetime, settings: Settings) -> None:
    """挂号成功率 counts it like a database refusal; a background job adds it to the statistics."""
    sold_out_slots.count(slot_id, local_day(now, settings.tz), account_id)


def _account_id(context: Context) -> int:
    account_id = context.viewer.account_id
    if account_id is None:
        raise NotFound("no account")
    return account_id


async def book_slot(
    context: Context,
    slot_id: int,
    patient_id: int,
    idempotency_key: str,
    *,
    pre_consultation_id: int | None = None,
) -> Booking:
    key = checked_idempotency_key(idempotency_key)
    request = BookingRequest(
        account_id=_account_id(context), slot_id=slot_id, patient_id=patient_id, idempotency_key=key
    )
    tz = context.settings.tz
    now = utcnow()
    if pre_consultation_id is not None:
        await pre_consultation.check_attachable(request.account_id, patient_id, pre_consultation_id)
    elif sold_out_slots.refuses(slot_id, request.account_id, key, now):
        # Sold out, as this process already learned from the database (decision 262): no query.
        count_sold_out_refusal(slot_id, request.account_id, now, context.settings)
        context.refused_from_sold_out_mark = True  # the transport may answer the next alike (decision 274)
        raise SlotUnavailable()
    began = public_changes.seen.sequence
    try:
        booked = (await place_booking(request, booking_policy(context.settings))).booking
    except DomainError as refused:
        if type(refused) is SlotUnavailable and refused.message == SlotUnavailable.default_message:
            await sold_out_slots.learn(slot_id, began)
        # 挂号成功率 counts refused attempts by reason, after the refused transaction.
        await count_refusal(refused, slot_id=slot_id, account_id=request.account_id, at=utcnow(), tz=tz)
        if isinstance(refused, Blacklisted):  # dates are shown in the hospital's zone
            raise Blacklisted(refused.ends_at.astimezone(tz)) from None
        if isinstance(refused, NotYetReleased):
            raise NotYetReleased(refused.release_at.astimezone(tz)) from None
        raise
    if pre_consultation_id is not None:
        await pre_consultation.attach_to_booking(
            request.account_id, patient_id, pre_consultation_id, booked.id
        )
    return booked


async def cancel_booking(context: Context, booking_id: int, reason: str) -> Booking:
    viewer = context.viewer
    async with in_transaction():
        return await actions.cancel_booking(
            booking_id,
            # A patient cancels only their own bookings, before the cutoff; an administrator any, any time.
            account_id=None if viewer.is_admin else _account_id(context),
            actor_id=viewer.account_id,
            reason=clean_text(reason, field="reason", max_length=255, required=False),
            cutoff_minutes=context.settings.cancel_cutoff_minutes,
        )


def is_deadlock_victim(exc: Exception) -> bool:
    text = str(exc).lower()
    return "deadlock" in text or ("savepoint" in text and "does not exist" in text)


RESERVED_KEY_PREFIXES = (DESK_KEY_PREFIX, WAITLIST_KEY_PREFIX)


def checked_idempotency_key(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 80:
        raise InvalidInput("idempotencyKey", "an idempotency key has 8-80 characters")
    if key.startswith(RESERVED_KEY_PREFIXES):
        # These mark bookings the waitlist and the desk placed (statistics tell them apart by it).
        raise InvalidInput("idempotencyKey", "an idempotency key may not start with desk: or waitlist:")
    return key


async def reschedule_booking(
    context: Context, booking_id: int, slot_id: int, idempotency_key: str
) -> Booking:
    """改约. A patient moves their own booking before the cutoff; an administrator any, any time."""
    key = checked_idempotency_key(idempotency_key)
    viewer = context.viewer
    for attempt in range(5):
        try:
            async with in_transaction():
                return await reschedule.reschedule_booking(
                    booking_id,
                    slot_id,
                    key,
                    account_id=None if viewer.is_admin else _account_id(context),
                    actor_id=viewer.account_id,
                    policy=booking_policy(context.settings),
                    cutoff_minutes=context.settings.cancel_cutoff_minutes,
                    now=utcnow(),
                )
        except Exception as exc:  # the savepoint's failure comes from the driver, not tortoise
            # A deadlock victim (PostgreSQL, MariaDB) was rolled back whole: run it again. MariaDB
            # rolls back the whole transaction inside the placement's savepoint, so the savepoint's
            # own rollback then fails with 1305 "SAVEPOINT ... does not exist": the same victim.
            if not is_deadlock_victim(exc) or attempt == 4:
                raise
    raise AssertionError("unreachable")


# -- lists with cursor pagination (keyset on the id, newest first)


@dataclass(frozen=True)
class BookingFilter:
    statuses: list[BookingStatus] | None = None
    date_from: date | None = None
    date_to: date | None = None
    department_id: int | None = None
    doctor_id: int | None = None
    schedule_id: int | None = None
    patient_id: int | None = None
    account_id: int | None = None
    doctor_ids: list[int] | None = None  # a doctor's history: all their profiles' sessions
    patient_name: str | None = None  # part of the 就诊人's name


async def _page(criteria: BookingFilter, first: int, after: int | None) -> Page[Booking]:
    return await keyset_page(await filtered(criteria), first, after)


async def filtered(criteria: BookingFilter) -> QuerySet[Booking]:
    """The bookings the criteria select (the `bookings` query's and the bookings export's filters)."""
    query = Booking.all()
    if criteria.account_id is not None:
        query = query.filter(account_id=criteria.account_id)
    if criteria.statuses:
        query = query.filter(status__in=criteria.statuses)
    if criteria.date_from is not None:
        query = query.filter(visit_date__gte=criteria.date_from)
    if criteria.date_to is not None:
        query = query.filter(visit_date__lte=criteria.date_to)
    if criteria.department_id is not None:
        # A clinical department's bookings include its sub-departments', as doctors(departmentId) does.
        children = await Department.filter(parent_id=criteria.department_id).values_list("id", flat=True)
        query = query.filter(department_id__in=[criteria.department_id, *children])
    if criteria.schedule_id is not None:
        query = query.filter(schedule_id=criteria.schedule_id)
    if criteria.patient_id is not None:
        query = query.filter(patient_id=criteria.patient_id)
    if criteria.doctor_id is not None:
        query = query.filter(schedule__doctor_id=criteria.doctor_id)
    if criteria.doctor_ids is not None:
        query = query.filter(schedule__doctor_id__in=criteria.doctor_ids)
    if criteria.patient_name:
        query = query.filter(patient__name__icontains=criteria.patient_name)
    return query


async def my_bookings(
    context: Context, criteria: BookingFilter, first: int, after: int | None
) -> Page[Booking]:
    scoped = BookingFilter(
        statuses=criteria.statuses,
        date_from=criteria.date_from,
        date_to=criteria.date_to,
        patient_id=criteria.patient_id,
        account_id=_account_id(context),
    )
    return await _page(scoped, first, after)


async def all_bookings(criteria: BookingFilter, first: int, after: int | None) -> Page[Booking]:
    return await _page(criteria, first, after)


async def clinic_history(
    context: Context, criteria: BookingFilter, first: int, after: int | None
) -> Page[Booking]:
    """A doctor's patients across every session of all their profiles, newest first."""
    name = clean_text(criteria.patient_name or "", field="patientName", max_length=64, required=False)
    scoped = BookingFilter(
        statuses=criteria.statuses,
        date_from=criteria.date_from,
        date_to=criteria.date_to,
        department_id=criteria.department_id,
        doctor_ids=await own_doctor_ids(context),
        patient_name=name or None,
    )
    return await _page(scoped, first, after)


async def session_bookings(context: Context, schedule_id: int) -> list[Booking]:
    """A doctor sees the bookings of their own sessions; an administrator of any session."""
    schedule = await Schedule.get_or_none(id=schedule_id)
    if schedule is None:
        raise NotFound("no such session")
    if not context.viewer.is_admin and schedule.doctor_id not in await own_doctor_ids(context):
        raise NotFound("no such session")
    return (
        await Booking.filter(schedule_id=schedule_id).order_by("queue_number").limit(SESSION_BOOKINGS_SHOWN)
    )


async def booking(context: Context, booking_id: int) -> Booking:
    query = Booking.filter(id=booking_id)
    if not context.viewer.is_admin:
        query = query.filter(account_id=_account_id(context))
    row = await query.first()
    if row is None:
        raise NotFound("no such booking")
    return row


# -- no-show blocks


async def my_no_show_blocks(context: Context) -> list[NoShowBlock]:
    return (await no_shows.blocks_of_account(_account_id(context), utcnow()))[:NO_SHOW_BLOCKS_SHOWN]


async def no_show_blocks(active_only: bool) -> list[NoShowBlock]:
    query = NoShowBlock.all()
    if active_only:
        query = query.filter(ends_at__gt=utcnow(), lifted_at__isnull=True)
    return await query.order_by("-id").limit(MAX_PAGE)


async def lift_no_show_block(context: Context, block_id: int, reason: str) -> NoShowBlock:
    async with in_transaction():
        return await no_shows.lift_block(block_id, actor_id=context.viewer.account_id, reason=reason)


# -- periodic jobs (gualema/background.py)


async def expire_holds(_settings: Settings) -> int:
    return await actions.expire_holds()


async def sweep_no_shows(settings: Settings) -> int:
    return await actions.sweep_no_shows(no_show_policy(settings))


async def flush_sold_out_refusals(_settings: Settings) -> int:
    """Every few seconds: the refusals answered from memory go into the statistics (decision 262)."""
    refusals = sold_out_slots.take_refusals()
    async with in_transaction():
        await count_sold_out_refusals(refusals)
    return sum(refusals.values())
