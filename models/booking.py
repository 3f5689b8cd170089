from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import connections, fields
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.accounts import Patient
from models.booking_rules import (
    Blacklisted,
    DuplicateBooking,
    IdempotencyKeyReused,
    PatientNotFound,
    QuotaExceeded,
    SlotUnavailable,
    check_booking_window,
    check_cancellable,
    hold_expires_at,
    request_fingerprint,
)
from models.clock import utcnow
from models.errors import InvalidInput, InvalidTransition, NotFound, writable_updates

if TYPE_CHECKING:
    from models.accounts import Account
    from models.booking_sql import RequestFacts
    from models.scheduling import Schedule, Slot


class BookingStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    IN_CONSULTATION = "in_consultation"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NO_SHOW = "no_show"


S = BookingStatus

# The one transition table of the booking aggregate. Every status change goes through `transition`.
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.CONFIRMED, S.CANCELLED, S.EXPIRED}),
    S.CONFIRMED: frozenset({S.CHECKED_IN, S.CANCELLED, S.NO_SHOW}),
    # A checked-in patient who never answers the call is a no-show when the session ends.
    S.CHECKED_IN: frozenset({S.IN_CONSULTATION, S.NO_SHOW}),
    # Back to CHECKED_IN: sent for tests and re-entering the queue (回诊).
    S.IN_CONSULTATION: frozenset({S.COMPLETED, S.CHECKED_IN}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
    S.NO_SHOW: frozenset(),
}

# Statuses that hold a seat and count as the patient's active booking.
ACTIVE = frozenset({S.PENDING_PAYMENT, S.CONFIRMED, S.CHECKED_IN, S.IN_CONSULTATION})
# Leaving an active status for one of these gives the seat back to the slot.
RELEASES_SEAT = frozenset({S.CANCELLED, S.EXPIRED})

# FHIR R4 Appointment.status for each of ours (a test maps them).
FHIR_STATUS: dict[BookingStatus, str] = {
    S.PENDING_PAYMENT: "pending",
    S.CONFIRMED: "booked",
    S.CHECKED_IN: "checked-in",
    S.IN_CONSULTATION: "arrived",
    S.COMPLETED: "fulfilled",
    S.CANCELLED: "cancelled",
    S.EXPIRED: "cancelled",
    S.NO_SHOW: "noshow",
}


SEAT_FREED = "seat.freed"
# Bookings made by the waitlist carry this idempotency-key prefix (models/waitlist.py).
WAITLIST_KEY_PREFIX = "waitlist:"


def can_transition(current: BookingStatus, target: BookingStatus) -> bool:
    return target in TRANSITIONS[current]


class Booking(Model):
    id = fields.IntField(primary_key=True)
    account_id: int
    patient_id: int
    schedule_id: int
    slot_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="bookings", on_delete=fields.RESTRICT
    )
    patient: fields.ForeignKeyRelation[Patient] = fields.ForeignKeyField(
        "models.Patient", related_name="bookings", on_delete=fields.RESTRICT
    )
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="bookings", on_delete=fields.RESTRICT
    )
    slot: fields.ForeignKeyRelation[Slot] = fields.ForeignKeyField(
        "models.Slot", related_name="bookings", on_delete=fields.RESTRICT
    )
    department_id = fields.IntField(db_index=True)
    visit_date = fields.DateField(db_index=True)
    # Copied from the slot at booking time (slots never move), so lists need no join.
    slot_starts_at = fields.DatetimeField()
    slot_ends_at = fields.DatetimeField()
    status = fields.CharEnumField(BookingStatus, max_length=20, db_index=True)
    queue_number = fields.IntField()
    fee = fields.IntField()  # fen
    expires_at = fields.DatetimeField(null=True, db_index=True)  # end of the payment hold
    # Uniqueness of active bookings, portable to every database: these keys are set while the
    # booking is active and NULL afterwards, and unique indexes ignore NULLs.
    active_session_key = fields.CharField(max_length=64, null=True, unique=True)
    active_department_day_key = fields.CharField(max_length=64, null=True, unique=True)
    idempotency_key = fields.CharField(max_length=80)
    request_fingerprint = fields.CharField(max_length=64)
    cancel_reason = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "booking"
        unique_together = (("account", "idempotency_key"), ("schedule", "queue_number"))


class BookingEvent(Model):
    # Every status change of a booking: time, actor and reason.
    id = fields.BigIntField(primary_key=True)
    booking_id: int
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="events", on_delete=fields.CASCADE
    )
    from_status = fields.CharEnumField(BookingStatus, max_length=20, null=True)
    to_status = fields.CharEnumField(BookingStatus, max_length=20)
    actor_id = fields.IntField(null=True)
    reason = fields.CharField(max_length=255, default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "booking_event"


class BookingQuota(Model):
    # Active bookings of an account for one visit day. A conditional increment (`active < limit`)
    # enforces the per-account daily quota atomically; leaving an active status decrements it.
    id = fields.IntField(primary_key=True)
    account_id = fields.IntField()
    visit_date = fields.DateField()
    active = fields.IntField(default=0)

    class Meta:
        table = "booking_quota"
        unique_together = (("account_id", "visit_date"),)


def active_session_key(patient_id: int, schedule_id: int) -> str:
    return f"{patient_id}:{schedule_id}"


def active_department_day_key(patient_id: int, department_id: int, visit_date: object) -> str:
    return f"{patient_id}:{department_id}:{visit_date}"


# What the patient is told when a booking enters a status: (template, dedupe prefix, fixed reason).
# There is no template of its own for an expired hold; it is a cancellation with the reason given.
NOTIFY_ON: dict[BookingStatus, tuple[str, str, str | None]] = {
    S.CONFIRMED: ("booking.confirmed", "booking.confirmed", None),
    S.CANCELLED: ("booking.cancelled", "booking.cancelled", None),
    S.EXPIRED: ("booking.cancelled", "booking.expired", "未在时限内支付 (payment window elapsed)"),
}
STOPPED_NOTICE = ("schedule.stopped", "booking.stopped", None)
PAYMENT_REFUND = "payment.refund"
PAYMENT_CLOSE = "payment.close"


async def transition(
    booking: Booking,
    target: BookingStatus,
    *,
    actor_id: int | None,
    reason: str = "",
    updates: dict[str, Any] | None = None,
    at: datetime | None = None,
    stopped_session: bool = False,
) -> Booking:
    """The only way a booking changes status. Must run inside a transaction.

    A conditional UPDATE on the current status makes the change exactly-once across processes:
    whoever loses the race gets InvalidTransition, never a second change. Side effects ride in the
    same transaction: the seat and the daily quota come back, the waitlist job, payment jobs and the
    patient's notification are enqueued, so a rolled-back change leaves no trace.
    `stopped_session` (停诊) sends the stop notice instead and skips the waitlist offer, since the
    freed seat can no longer be booked.
    """
    from models import jobs
    from models.scheduling import Slot

    current = booking.status
    if not can_transition(current, target):
        raise InvalidTransition("booking", current.value, target.value)
    values: dict[str, Any] = {
        "updated_at": at or utcnow(),
        **writable_updates(updates, state_column="status"),
        "status": target,
    }
    if target not in ACTIVE:
        values["active_session_key"] = None
        values["active_department_day_key"] = None
    if target is not S.PENDING_PAYMENT:
        values.setdefault("expires_at", None)
    changed = await Booking.filter(id=booking.id, status=current).update(**values)
    if changed != 1:
        fresh = await Booking.get(id=booking.id)
        raise InvalidTransition("booking", fresh.status.value, target.value)
    booking_id = booking.id
    account_id: int = booking.account_id  # type: ignore[attr-defined]
    slot_id: int = booking.slot_id  # type: ignore[attr-defined]
    schedule_id: int = booking.schedule_id  # type: ignore[attr-defined]
    # Lock order as in book_slot: the account's quota row, then the slot row.
    if current in ACTIVE and target not in ACTIVE:
        await BookingQuota.filter(account_id=account_id, visit_date=booking.visit_date).update(
            active=F("active") - 1
        )
    if current in ACTIVE and target in RELEASES_SEAT:
        from models import waitlist

        # While someone waits for this session the freed seat is withheld from the public pool
        # (reserved) and the durable seat.freed job gives it to the first waiter, so the waitlist
        # really comes first; otherwise the seat returns to the pool at once.
        reserved = not stopped_session and await waitlist.has_waiters_for_schedule(schedule_id)
        if not reserved:
            await Slot.filter(id=slot_id).update(remaining=F("remaining") + 1)
        if not stopped_session:
            await jobs.enqueue(
                SEAT_FREED, {"slot_id": slot_id, "schedule_id": schedule_id, "reserved": reserved}
            )
    if current is S.CONFIRMED and target is S.CANCELLED and booking.fee > 0:
        await jobs.enqueue(
            PAYMENT_REFUND,
            {"booking_id": booking_id, "reason": reason[:255]},
            dedupe_key=f"refund:{booking_id}",
        )
    if current is S.PENDING_PAYMENT and target in RELEASES_SEAT and booking.fee > 0:
        # A payment may be open at the provider: close it so it cannot be paid after the seat is gone.
        await jobs.enqueue(PAYMENT_CLOSE, {"booking_id": booking_id}, dedupe_key=f"close:{booking_id}")
    await BookingEvent.create(
        booking_id=booking_id, from_status=current, to_status=target, actor_id=actor_id, reason=reason[:255]
    )
    if booking.idempotency_key.startswith(WAITLIST_KEY_PREFIX):
        from models import waitlist

        await waitlist.on_booking_changed(booking, target)  # an offer accepted, lapsed or declined
    notice = STOPPED_NOTICE if stopped_session else NOTIFY_ON.get(target)
    if notice is not None:
        await notify_patient(booking, notice, reason)
    for key, value in values.items():
        setattr(booking, key, value)
    return booking


@dataclass(frozen=True)
class NoticeFacts:
    # What the templates name, loaded once per notice (or passed in by the booking hot path).
    patient_name: str
    patient_phone: str
    department: str
    doctor: str


async def _notice_facts(booking: Booking) -> NoticeFacts:
    from models.catalogue import Department, Doctor
    from models.scheduling import Schedule

    schedule = await Schedule.get(id=booking.schedule_id)  # type: ignore[attr-defined]
    patient = await Patient.get(id=booking.patient_id)  # type: ignore[attr-defined]
    doctor = await Doctor.get(id=schedule.doctor_id)  # type: ignore[attr-defined]
    department = await Department.get(id=schedule.department_id)  # type: ignore[attr-defined]
    return NoticeFacts(patient.name, patient.phone, department.name, doctor.name)


def _notice_params(
    booking: Booking,
    notice: tuple[str, str, str | None],
    reason: str,
    facts: NoticeFacts,
    queue_number: int | str | None = None,
) -> dict[str, Any]:
    event, _, fixed_reason = notice
    params: dict[str, Any] = {
        "patient_name": facts.patient_name,
        "department": facts.department,
        "visit_time": booking.slot_starts_at,
    }
    if event == "booking.confirmed":
        params.update(doctor=facts.doctor, queue_number=queue_number or booking.queue_number)
    else:
        params["reason"] = fixed_reason or reason or "-"
    return params


async def notify_patient(
    booking: Booking, notice: tuple[str, str, str | None], reason: str, facts: NoticeFacts | None = None
) -> None:
    """The patient's SMS and in-app message, in the caller's transaction, once per booking and kind."""
    from models.notifications import notify

    event, kind, _ = notice
    facts = facts or await _notice_facts(booking)
    await notify(
        booking.account_id,  # type: ignore[attr-defined]
        event,
        _notice_params(booking, notice, reason, facts),
        dedupe_key=f"{kind}:{booking.id}",
        booking_id=booking.id,
        phone=facts.patient_phone,
        visit_date=booking.visit_date,
    )


@dataclass(frozen=True)
class BookingPolicy:
    hold_minutes: int
    max_per_account_per_day: int
    writers: int = 4  # bookings of one process at the database at once (settings.booking_writers)


@dataclass(frozen=True)
class BookingRequest:
    account_id: int
    slot_id: int
    patient_id: int
    idempotency_key: str


async def _replay(account_id: int, idempotency_key: str, fingerprint: str) -> Booking | None:
    """The booking an idempotency key already produced, or None; another request under it is an error."""
    earlier = await Booking.filter(account_id=account_id, idempotency_key=idempotency_key).first()
    if earlier is not None and earlier.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return earlier


async def book_slot(request: BookingRequest, policy: BookingPolicy, now: datetime | None = None) -> Booking:
    """Take one seat of a slot for a patient of the caller's account, atomically on every database.
    Opens its own transaction: do not call inside one.

    One read (models/booking_sql.py) brings everything that can only refuse: the idempotency replay,
    the booking window, a full slot, ownership and a no-show block. The decision never trusts it: a
    conditional increment takes a unit of the daily quota, a conditional UPDATE takes the seat and its
    number, and the INSERT carries the active-uniqueness keys. On PostgreSQL all of that is one
    statement; elsewhere one transaction of the same steps. Any refusal rolls everything back; a
    failed INSERT is translated only after the rollback. See docs/decisions/031 and 099.
    """
    now = now or utcnow()
    fingerprint = request_fingerprint(request.slot_id, request.patient_id)
    for attempt in range(3):
        try:
            made = await _book_once(request, policy, fingerprint, now)
            return made if isinstance(made, Booking) else await Booking.get(id=made)
        except IntegrityError:
            # Rolled back already. Either the same idempotency key won a concurrent race (answer
            # with its booking) or an active-uniqueness key is taken.
            earlier = await _replay(request.account_id, request.idempotency_key, fingerprint)
            if earlier is not None:
                return earlier
            raise DuplicateBooking() from None
        except OperationalError as exc:
            # MySQL/PostgreSQL deadlock victims are rolled back whole and safe to run again.
            if "deadlock" not in str(exc).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _book_once(
    request: BookingRequest, policy: BookingPolicy, fingerprint: str, now: datetime
) -> Booking | int:
    """The new booking, or the id of the one the idempotency key already made."""
    from models.booking_sql import read_request

    client = connections.get("default")
    in_one_statement = client.capabilities.dialect == "postgres"
    # At most `policy.writers` bookings of this process talk to the database at once, admitted first
    # come, first served. Under a release-hour crowd the others wait here, in order, rather than in
    # the database's lock queue on the hot slot rows (which costs its CPU) or in asyncpg's pool (which
    # lets a newcomer take a connection just handed to a waiter and starved a few for seconds).
    writers = min(policy.writers, client.pool_maxsize) if in_one_statement else policy.writers  # type: ignore[attr-defined]
    async with _writers_gate(writers):
        if not in_one_statement:
            facts = await read_request(request, now)
            if facts.earlier_id is not None:
                return _replayed(facts, fingerprint)
            _check_request(facts, now)
            async with in_transaction():
                return await _book_in_steps(request, policy, facts, fingerprint, now)
        # The read and the write on one pooled connection; nothing in here needs a second one.
        async with client.acquire_connection() as connection:
            facts = await read_request(request, now, connection)
            if facts.earlier_id is not None:
                return _replayed(facts, fingerprint)
            _check_request(facts, now)
            return await _book_in_one_statement(connection, request, policy, facts, fingerprint, now)


_gates: dict[tuple[int, int], asyncio.Semaphore] = {}


def _writers_gate(size: int) -> asyncio.Semaphore:
    # One per event loop (the test suite runs several); asyncio.Semaphore queues its waiters in order.
    key = (id(asyncio.get_running_loop()), size)
    gate = _gates.get(key)
    if gate is None:
        _gates.clear()
        gate = _gates[key] = asyncio.Semaphore(size)
    return gate


def _replayed(facts: RequestFacts, fingerprint: str) -> int:
    if facts.earlier_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    assert facts.earlier_id is not None
    return facts.earlier_id


def _check_request(facts: RequestFacts, now: datetime) -> None:
    from models.scheduling import ScheduleStatus

    if not facts.slot_found:
        raise SlotUnavailable("no such time slot")
    check_booking_window(
        now=now,
        release_at=facts.release_at,
        session_starts_at=facts.session_starts_at,
        stopped=facts.schedule_status == ScheduleStatus.STOPPED.value or not facts.bookable,
    )
    if facts.remaining <= 0:
        # Most of a release-hour crowd ends here, after one read. A stale read can only say "full"
        # a moment too early; it never sells a seat (the UPDATE decides).
        raise SlotUnavailable()
    if facts.patient_id is None:
        raise PatientNotFound()
    if facts.blocked_until is not None:
        raise Blacklisted(facts.blocked_until)


def _new_booking(
    request: BookingRequest, policy: BookingPolicy, facts: RequestFacts, fingerprint: str, now: datetime
) -> Booking:
    """The booking as it will be inserted, without its id and queue number."""
    status = S.PENDING_PAYMENT if facts.fee > 0 else S.CONFIRMED
    return Booking(
        account_id=request.account_id,
        patient_id=request.patient_id,
        schedule_id=facts.schedule_id,
        slot_id=request.slot_id,
        department_id=facts.department_id,
        visit_date=facts.visit_date,
        slot_starts_at=facts.slot_starts_at,
        slot_ends_at=facts.slot_ends_at,
        status=status,
        queue_number=0,
        fee=facts.fee,
        expires_at=hold_expires_at(now, policy.hold_minutes) if status is S.PENDING_PAYMENT else None,
        active_session_key=active_session_key(request.patient_id, facts.schedule_id),
        active_department_day_key=active_department_day_key(
            request.patient_id, facts.department_id, facts.visit_date
        ),
        idempotency_key=request.idempotency_key,
        request_fingerprint=fingerprint,
        cancel_reason="",
        created_at=now,
        updated_at=now,
    )


def _facts_for_notice(facts: RequestFacts) -> NoticeFacts:
    return NoticeFacts(facts.patient_name, facts.patient_phone, facts.department_name, facts.doctor_name)


async def _book_in_steps(
    request: BookingRequest, policy: BookingPolicy, facts: RequestFacts, fingerprint: str, now: datetime
) -> Booking:
    # Rows are locked in one order everywhere (quota, then slot, then session): no deadlocks. The
    # quota row is the account's own, so it goes first; the slot row everybody wants is taken as late
    # as possible, and from its UPDATE to the commit only the booking's own rows are written.
    if not await take_quota(request.account_id, facts.visit_date, policy.max_per_account_per_day):
        raise QuotaExceeded(policy.max_per_account_per_day)
    number = await take_seat(request.slot_id, facts.schedule_id)
    if number is None:
        raise SlotUnavailable()
    booking = _new_booking(request, policy, facts, fingerprint, now)
    booking.queue_number = number
    await booking.save()
    await BookingEvent.create(
        booking_id=booking.id, from_status=None, to_status=booking.status, actor_id=request.account_id
    )
    if booking.status is S.CONFIRMED:
        await notify_patient(booking, NOTIFY_ON[S.CONFIRMED], "", _facts_for_notice(facts))
    return booking


async def _book_in_one_statement(
    connection: Any,
    request: BookingRequest,
    policy: BookingPolicy,
    facts: RequestFacts,
    fingerprint: str,
    now: datetime,
) -> Booking:
    import asyncpg

    from models.booking_sql import BOOK_IN_ONE_STATEMENT, compiled
    from models.notifications import rendered_notice
    from models.reminders import VISIT_REMINDER, visit_reminder_at

    booking = _new_booking(request, policy, facts, fingerprint, now)
    notice = booking.status is S.CONFIRMED
    event, kind, _ = NOTIFY_ON[S.CONFIRMED]
    marker = "\ue000queue-number\ue000"  # the number is known only inside the statement
    message, defaults, reminder_at = None, None, None
    if notice:  # a booking that waits for payment is told nothing yet
        message, defaults = rendered_notice(
            event, _notice_params(booking, NOTIFY_ON[S.CONFIRMED], "", _facts_for_notice(facts), marker)
        )
        reminder_at = visit_reminder_at(facts.visit_date, now, defaults.visit_reminder_hour, defaults.tz_name)
    values: dict[str, Any] = {
        "account_id": request.account_id,
        "patient_id": request.patient_id,
        "slot_id": request.slot_id,
        "schedule_id": facts.schedule_id,
        "department_id": facts.department_id,
        "visit_date": facts.visit_date,
        "slot_starts_at": facts.slot_starts_at,
        "slot_ends_at": facts.slot_ends_at,
        "status": booking.status.value,
        "fee": facts.fee,
        "expires_at": booking.expires_at,
        "active_session_key": booking.active_session_key,
        "active_department_day_key": booking.active_department_day_key,
        "idempotency_key": request.idempotency_key,
        "request_fingerprint": fingerprint,
        "now": now,
        "quota_limit": policy.max_per_account_per_day,
        "notify": notice,
        "phone": facts.patient_phone,
        "event": event,
        "locale": message.locale if message else "",
        "title": message.title if message else "",
        "body": message.body if message else "",
        "params": json.dumps(message.params if message else {}, ensure_ascii=False, separators=(",", ":")),
        "number_marker": marker,
        "dedupe_prefix": f"{kind}:",
        "max_attempts": defaults.max_attempts if defaults else 0,
        "reminder_kind": VISIT_REMINDER,
        "reminder_at": reminder_at,
    }
    sql, names = compiled(BOOK_IN_ONE_STATEMENT, "postgres")
    try:
        row = await connection.fetchrow(sql, *[values[name] for name in names])
    except asyncpg.DivisionByZeroError:
        raise SlotUnavailable() from None  # the quota was taken, the seat was not: all rolled back
    except asyncpg.UniqueViolationError as exc:
        raise IntegrityError(str(exc)) from None
    except asyncpg.DeadlockDetectedError as exc:
        raise OperationalError(f"deadlock: {exc}") from None
    if not row["quota_taken"]:
        raise QuotaExceeded(policy.max_per_account_per_day)
    booking.id = row["id"]
    booking.queue_number = row["queue_number"]
    booking._saved_in_db = True
    return booking


# The steps of a booking on SQLite and MariaDB (PostgreSQL does them in BOOK_IN_ONE_STATEMENT).
# SQLite (>= 3.35) has an upsert with RETURNING: the day's counter is created at 1 or incremented
# while below the limit; no row back means the limit.
TAKE_QUOTA_SQLITE = (
    "INSERT INTO booking_quota (account_id, visit_date, active) VALUES (?, ?, 1) "
    "ON CONFLICT (account_id, visit_date) DO UPDATE SET active = booking_quota.active + 1 "
    "WHERE booking_quota.active < ? RETURNING active"
)


async def take_quota(account_id: int, visit_date: date, limit: int) -> bool:
    """One unit of the account's daily quota, under the counter row's lock until commit."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        return bool(
            await conn.execute_query_dict(TAKE_QUOTA_SQLITE, [account_id, visit_date.isoformat(), limit])
        )
    # MySQL/MariaDB: a plain read first, then INSERT IGNORE only for a missing row: an UPDATE on a
    # missing row would take a gap lock (concurrent first bookings deadlock), and INSERT IGNORE on an
    # existing row takes a shared lock the UPDATE would then have to upgrade.
    quota = BookingQuota.filter(account_id=account_id, visit_date=visit_date)
    if not await quota.exists():
        await BookingQuota.bulk_create(
            [BookingQuota(account_id=account_id, visit_date=visit_date, active=0)], ignore_conflicts=True
        )
    counted = await quota.filter(active__lt=limit).update(active=F("active") + 1)
    return counted == 1


# One statement on SQLite (UPDATE … RETURNING); MySQL and MariaDB read the row back under the lock
# the UPDATE took.
TAKE_SEAT_SQLITE = (
    "UPDATE slot SET remaining = remaining - 1, issued = issued + 1 "
    "WHERE id = ? AND remaining > 0 AND bookable RETURNING first_number, block_size, issued"
)


async def take_seat(slot_id: int, schedule_id: int) -> int | None:
    """Take one seat of the slot and give it its queue number, or None when the slot is full or
    closed. One conditional UPDATE (with RETURNING where the database has it) decides; the number
    comes from the slot's block (same row, same statement) or, past the block, from the session's
    counter. Call inside a transaction."""
    from models.scheduling import Schedule, Slot

    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        rows = await conn.execute_query_dict(TAKE_SEAT_SQLITE, [slot_id])
        if not rows:
            return None
        row = rows[0]
    else:
        taken = await Slot.filter(id=slot_id, remaining__gt=0, bookable=True).update(
            remaining=F("remaining") - 1, issued=F("issued") + 1
        )
        if taken != 1:
            return None
        # Read under the row lock the UPDATE holds until commit: the values are this booking's.
        row = (await Slot.filter(id=slot_id).values("first_number", "block_size", "issued"))[0]
    if row["issued"] <= row["block_size"]:
        return int(row["first_number"]) + int(row["issued"]) - 1
    await Schedule.filter(id=schedule_id).update(next_number=F("next_number") + 1)
    (after,) = await Schedule.filter(id=schedule_id).values_list("next_number", flat=True)
    return int(after) - 1  # type: ignore[call-overload]


async def cancel_booking(
    booking_id: int,
    *,
    account_id: int | None,
    actor_id: int | None,
    reason: str,
    cutoff_minutes: int,
    now: datetime | None = None,
) -> Booking:
    """A patient's (account_id set: only their own) or an administrator's cancellation. Call inside a
    transaction. The seat, the quota and (when paid) the money come back through `transition`."""
    now = now or utcnow()
    query = Booking.filter(id=booking_id)
    if account_id is not None:
        query = query.filter(account_id=account_id)
    booking = await query.first()
    if booking is None:
        raise NotFound("no such booking")
    if account_id is not None:
        check_cancellable(now=now, slot_starts_at=booking.slot_starts_at, cutoff_minutes=cutoff_minutes)
    return await transition(
        booking,
        S.CANCELLED,
        actor_id=actor_id,
        reason=reason or "cancelled",
        updates={"cancel_reason": (reason or "cancelled")[:255]},
        at=now,
    )


async def expire_holds(now: datetime | None = None, limit: int = 200) -> int:
    """Unpaid holds past their deadline become EXPIRED and give their seat back. Durable (the state
    is in the database, so a restart only delays it) and exactly once: each change is a conditional
    UPDATE, and a process that loses the race skips the booking."""
    now = now or utcnow()
    due = (
        await Booking.filter(status=S.PENDING_PAYMENT, expires_at__lte=now)
        .order_by("expires_at")
        .limit(limit)
    )
    expired = 0
    for booking in due:
        try:
            async with in_transaction():
                await transition(booking, S.EXPIRED, actor_id=None, reason="payment window elapsed", at=now)
            expired += 1
        except InvalidTransition:
            continue  # paid or expired by another process meanwhile
    return expired


async def stop_schedule(schedule_id: int, *, actor_id: int | None, reason: str) -> tuple[Any, int]:
    """停诊: close the session and cancel every active booking with the reason (refunds and
    notifications follow from `transition`). Call inside a transaction."""
    from models.scheduling import Schedule, ScheduleStatus, Slot

    if not reason.strip():
        raise InvalidInput("reason", "say why the session is stopped")
    schedule = await Schedule.get_or_none(id=schedule_id)
    if schedule is None:
        raise NotFound("no such session")
    # Slots first: a booking in flight either committed before this UPDATE (and is cancelled
    # below) or waits for it and then finds the slot not bookable.
    await Slot.filter(schedule_id=schedule_id).update(bookable=False)
    stopped = await Schedule.filter(id=schedule_id, status=ScheduleStatus.OPEN).update(
        status=ScheduleStatus.STOPPED, stop_reason=reason[:255]
    )
    if stopped != 1:
        raise InvalidTransition("schedule", schedule.status.value, ScheduleStatus.STOPPED.value)
    cancelled = 0
    for booking in await Booking.filter(
        schedule_id=schedule_id, status__in=list(CANCELLABLE_BY_STOP)
    ).order_by("id"):
        await transition(
            booking,
            S.CANCELLED,
            actor_id=actor_id,
            reason=f"停诊: {reason}",
            updates={"cancel_reason": f"停诊: {reason}"[:255]},
            stopped_session=True,
        )
        cancelled += 1
    await schedule.refresh_from_db()
    return schedule, cancelled


# A stopped session cancels bookings that have not reached the doctor yet.
CANCELLABLE_BY_STOP = frozenset({S.PENDING_PAYMENT, S.CONFIRMED})
