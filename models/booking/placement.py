"""Placing a booking: the one way a booking comes to exist, whoever asks (the app, the waitlist, and
later the desk and rescheduling).

One read (placement_sql.read_request) brings everything that can only refuse: the idempotency replay,
the booking window, a full slot, ownership and a no-show block. The decision never trusts it: a
conditional increment takes a unit of the daily quota, a conditional UPDATE takes the seat and its
number, and the INSERT carries the active-uniqueness keys. Two dialects of the same steps:

- in one statement on PostgreSQL when the placement is its own transaction (the release-hour path,
  docs/decisions/099), which also writes the confirmation's outbox rows and reminder;
- as ORM steps in one transaction elsewhere, and inside a caller's transaction (the waitlist claims its
  entry and places the booking atomically).

Either way the change record goes to models/reactions.py in the same transaction.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.expressions import F
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import reactions
from models.booking.notices import CONFIRMED_NOTICE, notice_params
from models.booking.placement_sql import (
    BOOK_IN_ONE_STATEMENT,
    NO_RESERVED_ACCESS,
    RequestFacts,
    ReservedAccess,
    compiled,
    read_request,
)
from models.booking.rules import (
    Blacklisted,
    DuplicateBooking,
    IdempotencyKeyReused,
    PatientNotFound,
    QuotaExceeded,
    SlotUnavailable,
    check_booking_window,
    check_desk_window,
    hold_expires_at,
    request_fingerprint,
)
from models.booking.status import BookingStatus
from models.booking.tables import (
    WAITLIST_KEY_PREFIX,
    Booking,
    BookingEvent,
    BookingQuota,
    active_department_day_key,
    active_session_key,
)
from models.booking.transition import BookingChanged, NoticeFacts, change_of
from models.clock import utcnow
from models.correlation import request_id
from models.notifications import rendered_notice
from models.reminders import VISIT_REMINDER, visit_reminder_at
from models.scheduling import Schedule, ScheduleStatus, Slot
from models.statistics import rollup

S = BookingStatus


@dataclass(frozen=True)
class BookingPolicy:
    hold_minutes: int
    max_per_account_per_day: int
    writers: int = 4  # bookings of one process at the database at once (settings.booking_writers)
    # The one-statement placement's statistics counters (off only to measure their cost).
    roll_up: bool = True


@dataclass(frozen=True)
class BookingRequest:
    account_id: int
    slot_id: int
    patient_id: int
    idempotency_key: str


@dataclass(frozen=True)
class WaitlistSeat:
    """How the waitlist places a booking for one of its entries."""

    entry_id: int
    # The seat was withheld from the public pool when it was freed: take no seat from `remaining`.
    reserved: bool
    # An offer waits for payment until then; None books at once (free, or paid on joining).
    offer_expires_at: datetime | None


@dataclass(frozen=True)
class DeskSeat:
    """The registration desk (现场挂号): today's sessions until they end, the desk share first
    (decision 190), and a fee settled at the window confirms the booking at once."""

    today: date  # the hospital's today, in its zone
    settled: bool


@dataclass(frozen=True)
class Replacing:
    """A reschedule (改约): the booking this placement replaces, moved out by the caller right after.

    Its active-uniqueness keys are given up first (the caller's transaction undoes that on any
    refusal), and its unit of the daily quota counts for the new booking when both fall on one day
    (the old one gives it back in the same transaction), so a patient at the limit can still move."""

    booking: Booking
    # The old booking's fee is paid and covers the new one: the new booking is confirmed at once.
    settled: bool


@dataclass(frozen=True)
class Placed:
    booking: Booking
    change: BookingChanged | None  # None when the idempotency key replayed an earlier booking


async def place_booking(
    request: BookingRequest,
    policy: BookingPolicy,
    now: datetime | None = None,
    *,
    waitlist: WaitlistSeat | None = None,
    in_callers_transaction: bool = False,
    replacing: Replacing | None = None,
    desk: DeskSeat | None = None,
) -> Placed:
    """Take one seat of a slot for a patient of the account, atomically on every database.

    By default it opens its own transaction (do not call it inside one) and retries deadlock victims.
    With `in_callers_transaction` (always for the waitlist and a reschedule) it runs inside the
    caller's transaction, which the caller wraps in a savepoint so that a refusal (quota, duplicate)
    leaves the rest of its work intact.
    """
    now = now or utcnow()
    fingerprint = request_fingerprint(request.slot_id, request.patient_id)
    if waitlist is not None or replacing is not None or desk is not None or in_callers_transaction:
        return await _place_within(request, policy, fingerprint, now, waitlist, replacing, desk)
    for attempt in range(3):
        try:
            return await _place_own_transaction(request, policy, fingerprint, now)
        except IntegrityError:
            # Rolled back already. Either the same idempotency key won a concurrent race (answer
            # with its booking) or an active-uniqueness key is taken.
            earlier = await _replay(request.account_id, request.idempotency_key, fingerprint)
            if earlier is not None:
                return Placed(earlier, None)
            raise DuplicateBooking() from None
        except OperationalError as exc:
            # MySQL/PostgreSQL deadlock victims are rolled back whole and safe to run again.
            if "deadlock" not in str(exc).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _replay(account_id: int, idempotency_key: str, fingerprint: str) -> Booking | None:
    """The booking an idempotency key already produced, or None; another request under it is an error."""
    earlier = await Booking.filter(account_id=account_id, idempotency_key=idempotency_key).first()
    if earlier is not None and earlier.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return earlier


async def _place_own_transaction(
    request: BookingRequest, policy: BookingPolicy, fingerprint: str, now: datetime
) -> Placed:
    client = connections.get("default")
    in_one_statement = client.capabilities.dialect == "postgres"
    # At most `policy.writers` bookings of this process talk to the database at once, admitted first
    # come, first served. Under a release-hour crowd the others wait here, in order, rather than in
    # the database's lock queue on the hot slot rows (which costs its CPU) or in asyncpg's pool (which
    # lets a newcomer take a connection just handed to a waiter and starved a few for seconds).
    writers = min(policy.writers, client.pool_maxsize) if in_one_statement else policy.writers
    async with _writers_gate(writers):
        if not in_one_statement:
            facts = await _read(request, now)
            if facts.earlier_id is not None:
                return Placed(await _replayed(facts, fingerprint), None)
            _check_request(facts, now)
            async with in_transaction():
                return await _place_in_steps(request, policy, facts, fingerprint, now, None)
        # The read and the write on one pooled connection; nothing in here needs a second one.
        async with client.acquire_connection() as connection:
            facts = await _read(request, now, connection)
            if facts.earlier_id is None:
                _check_request(facts, now)
                return await _place_in_one_statement(connection, request, policy, facts, fingerprint, now)
        return Placed(await _replayed(facts, fingerprint), None)


async def _place_within(
    request: BookingRequest,
    policy: BookingPolicy,
    fingerprint: str,
    now: datetime,
    waitlist: WaitlistSeat | None,
    replacing: Replacing | None = None,
    desk: DeskSeat | None = None,
) -> Placed:
    facts = await _read(request, now)
    if facts.earlier_id is not None:
        return Placed(await _replayed(facts, fingerprint), None)
    # A reserved seat is not in `remaining`: only the pool's count may say "full" here.
    _check_request(facts, now, seat_reserved=waitlist is not None and waitlist.reserved, desk=desk)
    if replacing is not None:
        await Booking.filter(id=replacing.booking.id).update(
            active_session_key=None, active_department_day_key=None
        )
    try:
        return await _place_in_steps(request, policy, facts, fingerprint, now, waitlist, replacing, desk)
    except IntegrityError:
        raise DuplicateBooking() from None  # the caller's savepoint undoes what was written


async def _read(request: BookingRequest, now: datetime, connection: Any = None) -> RequestFacts:
    return await read_request(
        request.account_id, request.slot_id, request.patient_id, request.idempotency_key, now, connection
    )


_gates: dict[tuple[int, int], asyncio.Semaphore] = {}


def _writers_gate(size: int) -> asyncio.Semaphore:
    # One per event loop (the test suite runs several); asyncio.Semaphore queues its waiters in order.
    key = (id(asyncio.get_running_loop()), size)
    gate = _gates.get(key)
    if gate is None:
        _gates.clear()
        gate = _gates[key] = asyncio.Semaphore(size)
    return gate


async def _replayed(facts: RequestFacts, fingerprint: str) -> Booking:
    if facts.earlier_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return await Booking.get(id=facts.earlier_id)


def _check_request(
    facts: RequestFacts, now: datetime, *, seat_reserved: bool = False, desk: DeskSeat | None = None
) -> None:
    if not facts.slot_found:
        raise SlotUnavailable("no such time slot")
    stopped = facts.schedule_status == ScheduleStatus.STOPPED.value or not facts.bookable
    if desk is not None:
        day, ends_at = facts.visit_date, facts.session_ends_at
        check_desk_window(now=now, today=desk.today, visit_date=day, ends_at=ends_at, stopped=stopped)
    else:
        check_booking_window(
            now=now, release_at=facts.release_at, session_starts_at=facts.session_starts_at, stopped=stopped
        )
    access = facts.reserved_access(now)
    seats = (
        facts.remaining
        + (facts.desk_remaining if desk is not None else 0)
        + (facts.followup_remaining if access.followup else 0)
        + (facts.staff_remaining if access.staff else 0)
    )
    if seats <= 0 and not seat_reserved:
        # Most of a release-hour crowd ends here, after one read. A stale read can only say "full"
        # a moment too early; it never sells a seat (the UPDATE decides).
        raise SlotUnavailable()
    if facts.patient_id is None:
        raise PatientNotFound()
    if facts.blocked_until is not None:
        raise Blacklisted(facts.blocked_until)


def _new_booking(
    request: BookingRequest,
    policy: BookingPolicy,
    facts: RequestFacts,
    fingerprint: str,
    now: datetime,
    waitlist: WaitlistSeat | None,
    replacing: Replacing | None = None,
    desk: DeskSeat | None = None,
) -> Booking:
    """The booking as it will be inserted, without its id and queue number."""
    if (replacing is not None and replacing.settled) or (desk is not None and desk.settled):
        status, expires_at = S.CONFIRMED, None
    elif waitlist is not None:
        status = S.PENDING_PAYMENT if waitlist.offer_expires_at is not None else S.CONFIRMED
        expires_at = waitlist.offer_expires_at
    else:
        status = S.PENDING_PAYMENT if facts.fee > 0 else S.CONFIRMED
        expires_at = hold_expires_at(now, policy.hold_minutes) if status is S.PENDING_PAYMENT else None
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
        expires_at=expires_at,
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


def _notice_facts(facts: RequestFacts) -> NoticeFacts:
    return NoticeFacts(facts.patient_name, facts.patient_phone, facts.department_name, facts.doctor_name)


async def _place_in_steps(
    request: BookingRequest,
    policy: BookingPolicy,
    facts: RequestFacts,
    fingerprint: str,
    now: datetime,
    waitlist: WaitlistSeat | None,
    replacing: Replacing | None = None,
    desk: DeskSeat | None = None,
) -> Placed:
    # Rows are locked in one order everywhere (quota, then slot, then session): no deadlocks. The
    # quota row is the account's own, so it goes first; the slot row everybody wants is taken as late
    # as possible, and from its UPDATE to the commit only the booking's own rows are written.
    limit = policy.max_per_account_per_day
    if (
        replacing is not None
        and replacing.booking.account_id == request.account_id
        and replacing.booking.visit_date == facts.visit_date
    ):
        limit += 1  # the replaced booking's unit, given back before this transaction commits
    if not await take_quota(request.account_id, facts.visit_date, limit):
        raise QuotaExceeded(policy.max_per_account_per_day)
    number = await take_seat(
        request.slot_id,
        facts.schedule_id,
        reserved=waitlist is not None and waitlist.reserved,
        desk=desk is not None,
        access=facts.reserved_access(now),
    )
    if number is None:
        raise SlotUnavailable()
    booking = _new_booking(request, policy, facts, fingerprint, now, waitlist, replacing, desk)
    booking.queue_number = number
    await booking.save()
    actor = request.account_id if waitlist is None else None
    reason = "" if waitlist is None else f"waitlist entry {waitlist.entry_id}"
    if replacing is not None:
        reason = f"改约自 booking {replacing.booking.id} (rescheduled from)"
    if desk is not None:
        reason = "现场挂号 (registered at the desk)"
    await BookingEvent.create(
        booking_id=booking.id,
        from_status=None,
        to_status=booking.status,
        actor_id=actor,
        reason=reason,
        at=now,
    )
    change = change_of(booking, None, actor_id=actor, reason=reason, at=now, facts=_notice_facts(facts))
    await reactions.react(change)
    return Placed(booking, change)


async def _place_in_one_statement(
    connection: Any,
    request: BookingRequest,
    policy: BookingPolicy,
    facts: RequestFacts,
    fingerprint: str,
    now: datetime,
) -> Placed:
    booking = _new_booking(request, policy, facts, fingerprint, now, None)
    notice = booking.status is S.CONFIRMED
    event, kind, _ = CONFIRMED_NOTICE
    marker = "\ue000queue-number\ue000"  # the number is known only inside the statement
    message, defaults, reminder_at = None, None, None
    if notice:  # a booking that waits for payment is told nothing yet
        unnumbered = change_of(booking, None, actor_id=request.account_id, reason="", at=now)
        message, defaults = rendered_notice(
            event, notice_params(unnumbered, CONFIRMED_NOTICE, _notice_facts(facts), marker)
        )
        reminder_at = visit_reminder_at(facts.visit_date, now, defaults.visit_reminder_hour, defaults.tz_name)
    access = facts.reserved_access(now)
    values: dict[str, Any] = {
        "followup_ok": access.followup,
        "staff_ok": access.staff,
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
        "request_id": request_id.get()[:64],
    }
    # The rollup's counters for this placement (models/statistics/metrics.py), in key order.
    placed = change_of(booking, None, actor_id=None, reason="", at=now)
    counters = (
        sorted((d.day, str(d.metric), d.amount) for d in rollup.deltas_of(placed)) if policy.roll_up else []
    )
    values["stat_days"] = [day for day, _, _ in counters]
    values["stat_metrics"] = [metric for _, metric, _ in counters]
    values["stat_amounts"] = [amount for _, _, amount in counters]
    values["stat_shards"] = rollup.SHARDS
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
    # The statement was its own transaction and wrote the confirmation itself: no reaction of a
    # placement writes anything else (the statistics rollup's counters are in the statement too).
    change = change_of(booking, None, actor_id=request.account_id, reason="", at=now, notified=True)
    reactions.note_public(change)
    return Placed(booking, change)


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
    # MySQL/MariaDB (and PostgreSQL inside a caller's transaction): a plain read first, then INSERT
    # IGNORE only for a missing row: an UPDATE on a missing row would take a gap lock (concurrent
    # first bookings deadlock), and INSERT IGNORE on an existing row takes a shared lock the UPDATE
    # would then have to upgrade.
    quota = BookingQuota.filter(account_id=account_id, visit_date=visit_date)
    if not await quota.exists():
        await BookingQuota.bulk_create(
            [BookingQuota(account_id=account_id, visit_date=visit_date, active=0)], ignore_conflicts=True
        )
    counted = await quota.filter(active__lt=limit).update(active=F("active") + 1)
    return counted == 1


# One statement on SQLite (UPDATE … RETURNING); MySQL and MariaDB read the row back under the lock
# the UPDATE took. A reserved seat was taken from `remaining` when it was freed: only its number is new.
def _take_counter_sqlite(column: str) -> str:
    # Only ever called with the fixed column names below.
    return (
        f"UPDATE slot SET {column} = {column} - 1, issued = issued + 1 "  # noqa: S608
        f"WHERE id = ? AND {column} > 0 AND bookable RETURNING first_number, block_size, issued"
    )


TAKE_COUNTER_SQLITE = {
    column: _take_counter_sqlite(column)
    for column in ("desk_remaining", "followup_remaining", "staff_remaining", "remaining")
}
TAKE_RESERVED_SEAT_SQLITE = (
    "UPDATE slot SET issued = issued + 1 WHERE id = ? AND bookable RETURNING first_number, block_size, issued"
)


def seat_counters_in_order(*, desk: bool, access: ReservedAccess) -> list[str]:
    """The slot's counters a placement may take its seat from, in the order it tries them: the desk
    share (the desk only), the 复诊 and staff shares (when eligible or released, decision 241), and
    last the general pool, so an eligible booker leaves general seats to everyone else."""
    counters = ["desk_remaining"] if desk else []
    if access.followup:
        counters.append("followup_remaining")
    if access.staff:
        counters.append("staff_remaining")
    return [*counters, "remaining"]


async def take_seat(
    slot_id: int,
    schedule_id: int,
    *,
    reserved: bool = False,
    desk: bool = False,
    access: ReservedAccess = NO_RESERVED_ACCESS,
) -> int | None:
    """Take one seat of the slot and give it its queue number, or None when the slot is full or
    closed. One conditional UPDATE per counter (with RETURNING where the database has it) decides; the
    number comes from the slot's block (same row, same statement) or, past the block, from the
    session's counter. Call inside a transaction."""
    conn = connections.get("default")
    counters = [] if reserved else seat_counters_in_order(desk=desk, access=access)
    if conn.capabilities.dialect == "sqlite":
        rows: list[dict[str, Any]] = []
        for column in counters:
            rows = await conn.execute_query_dict(TAKE_COUNTER_SQLITE[column], [slot_id])
            if rows:
                break
        if reserved:
            rows = await conn.execute_query_dict(TAKE_RESERVED_SEAT_SQLITE, [slot_id])
        if not rows:
            return None
        row = rows[0]
    else:
        seat = Slot.filter(id=slot_id, bookable=True)
        taken = 0
        for column in counters:
            taken = await _take_from(seat, column)
            if taken == 1:
                break
        if reserved:
            taken = await seat.update(issued=F("issued") + 1)
        if taken != 1:
            return None
        # Read under the row lock the UPDATE holds until commit: the values are this booking's.
        row = (await Slot.filter(id=slot_id).values("first_number", "block_size", "issued"))[0]
    if row["issued"] <= row["block_size"]:
        return int(row["first_number"]) + int(row["issued"]) - 1
    await Schedule.filter(id=schedule_id).update(next_number=F("next_number") + 1)
    (after,) = await Schedule.filter(id=schedule_id).values_list("next_number", flat=True)
    return int(after) - 1  # type: ignore[call-overload]


async def _take_from(seat: QuerySet[Slot], column: str) -> int:
    """One seat from one counter by a conditional UPDATE; the row count says whether it was there."""
    issued = F("issued") + 1
    if column == "desk_remaining":
        return await seat.filter(desk_remaining__gt=0).update(desk_remaining=F(column) - 1, issued=issued)
    if column == "followup_remaining":
        return await seat.filter(followup_remaining__gt=0).update(
            followup_remaining=F(column) - 1, issued=issued
        )
    if column == "staff_remaining":
        return await seat.filter(staff_remaining__gt=0).update(staff_remaining=F(column) - 1, issued=issued)
    return await seat.filter(remaining__gt=0).update(remaining=F("remaining") - 1, issued=issued)


def waitlist_request(account_id: int, slot_id: int, patient_id: int, entry_id: int) -> BookingRequest:
    return BookingRequest(account_id, slot_id, patient_id, f"{WAITLIST_KEY_PREFIX}{entry_id}")
