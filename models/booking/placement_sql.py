"""The booking hot path in SQL (docs/decisions/099-booking-in-one-statement.md).

`read_request` loads everything a booking request is checked against in one statement on every
database: the earlier booking under the idempotency key, the slot with its session, doctor and
department names, the caller's patient and the end of an active no-show block.

`BOOK_IN_ONE_STATEMENT` is PostgreSQL's whole write: the day's quota, the seat and its queue number,
the booking, its first event, the confirmation's SMS and in-app rows and the visit reminder, in one
statement, which is its own transaction, with the statistics rollup's counters. The hot slot row is
locked only while that statement runs: no round trip, and no wait for a busy event loop, happens
between taking the seat and the commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from tortoise import connections

from models.no_shows import NoShowBlock
from models.scheduling import Schedule, Slot

_NAMED = re.compile(r"(?<!:):([a-z_]+)")


@cache
def compiled(template: str, dialect: str) -> tuple[str, tuple[str, ...]]:
    """`:name` markers to the driver's placeholders, with the order in which to pass the values."""
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if dialect == "postgres":
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"
        names.append(name)
        return "?" if dialect == "sqlite" else "%s"

    return _NAMED.sub(placeholder, template), tuple(names)


READ_REQUEST = """
SELECT e.id AS earlier_id, e.request_fingerprint AS earlier_fingerprint,
       f.slot_starts_at, f.slot_ends_at, f.remaining, f.desk_remaining, f.bookable, f.schedule_id,
       f.schedule_status, f.release_at, f.session_starts_at, f.session_ends_at, f.fee, f.visit_date,
       f.department_id, f.doctor_name, f.followup_remaining, f.staff_remaining, f.followup_window_days,
       f.reserved_release_minutes, a.staff_or_student AS staff_member,
       -- 复诊 share (decision 241): the patient's latest completed visit in the department, read only
       -- while the slot still has such seats
       CASE WHEN f.followup_remaining > 0 THEN (
           SELECT max(v.visit_date) FROM booking v
           WHERE v.patient_id = p.id AND v.department_id = f.department_id AND v.status = 'completed'
       ) END AS last_visit_date,
       f.department_name, p.id AS patient_id, p.name AS patient_name,
       -- texts go to the patient's own phone once verified, else to the account holder's
       CASE WHEN p.phone_verified_at IS NOT NULL THEN p.phone ELSE a.phone END AS patient_phone,
       (SELECT max(b.ends_at) FROM no_show_block b
         WHERE b.identity_hash = p.id_number_hash AND b.ends_at > :now AND b.lifted_at IS NULL
       ) AS blocked_until
FROM (SELECT 1 AS one) AS request
LEFT JOIN booking e ON e.account_id = :account_id AND e.idempotency_key = :idempotency_key
LEFT JOIN (
    SELECT sl.starts_at AS slot_starts_at, sl.ends_at AS slot_ends_at, sl.remaining,
           sl.desk_remaining, sl.followup_remaining, sl.staff_remaining, rt.followup_window_days,
           rt.reserved_release_minutes, sl.bookable, sc.id AS schedule_id, sc.status AS schedule_status,
           sc.release_at, sc.starts_at AS session_starts_at, sc.ends_at AS session_ends_at,
           sc.fee, sc.date AS visit_date, sc.department_id,
           d.name AS doctor_name, dep.name AS department_name
    FROM slot sl
    JOIN schedule sc ON sc.id = sl.schedule_id
    JOIN doctor d ON d.id = sc.doctor_id
    JOIN department dep ON dep.id = sc.department_id
    JOIN registration_type rt ON rt.id = sc.registration_type_id
    WHERE sl.id = :slot_id
) AS f ON 1 = 1
LEFT JOIN patient p ON p.id = :patient_id AND p.account_id = :account_id AND p.archived_at IS NULL
LEFT JOIN account a ON a.id = p.account_id
"""


@dataclass(frozen=True)
class RequestFacts:
    # What the database says about one booking request; read without locks, so it can only refuse.
    earlier_id: int | None
    earlier_fingerprint: str | None
    slot_found: bool
    slot_starts_at: datetime
    slot_ends_at: datetime
    remaining: int
    desk_remaining: int
    bookable: bool
    schedule_id: int
    schedule_status: str
    release_at: datetime
    session_starts_at: datetime
    session_ends_at: datetime
    fee: int
    visit_date: date
    department_id: int
    doctor_name: str
    department_name: str
    patient_id: int | None
    patient_name: str
    patient_phone: str
    blocked_until: datetime | None
    followup_remaining: int = 0
    staff_remaining: int = 0
    followup_window_days: int = 0
    reserved_release_minutes: int = 0
    staff_member: bool = False
    last_visit_date: date | None = None

    def reserved_access(self, now: datetime) -> ReservedAccess:
        """Which reserved shares this request may take a seat from (decision 241): its own by
        eligibility, and every one once the release time before the session has come."""
        released = now >= self.session_starts_at - timedelta(minutes=self.reserved_release_minutes)
        returning = self.last_visit_date is not None and (
            (self.visit_date - self.last_visit_date).days <= self.followup_window_days
        )
        return ReservedAccess(followup=released or returning, staff=released or self.staff_member)


@dataclass(frozen=True)
class ReservedAccess:
    followup: bool = False
    staff: bool = False


NO_RESERVED_ACCESS = ReservedAccess()


def _python_values(row: dict[str, Any]) -> dict[str, Any]:
    # Raw rows come back as the driver gives them (SQLite: text; MySQL: naive UTC); the models' own
    # fields turn them into what the ORM would have returned.
    converters = {
        "slot_starts_at": Slot._meta.fields_map["starts_at"],
        "slot_ends_at": Slot._meta.fields_map["ends_at"],
        "release_at": Schedule._meta.fields_map["release_at"],
        "session_starts_at": Schedule._meta.fields_map["starts_at"],
        "session_ends_at": Schedule._meta.fields_map["ends_at"],
        "visit_date": Schedule._meta.fields_map["date"],
        "blocked_until": NoShowBlock._meta.fields_map["ends_at"],
        "last_visit_date": Schedule._meta.fields_map["date"],
    }
    for name, field in converters.items():
        if row[name] is not None:
            row[name] = field.to_python_value(row[name])
    return row


async def read_request(
    account_id: int,
    slot_id: int,
    patient_id: int,
    idempotency_key: str,
    now: datetime,
    connection: Any = None,
) -> RequestFacts:
    """On the ORM's connection, or on `connection` (an asyncpg connection the caller holds)."""
    client = connections.get("default")
    dialect = client.capabilities.dialect
    sql, names = compiled(READ_REQUEST, dialect)
    values = {
        "account_id": account_id,
        "slot_id": slot_id,
        "patient_id": patient_id,
        "idempotency_key": idempotency_key,
        "now": NoShowBlock._meta.fields_map["ends_at"].to_db_value(now, NoShowBlock),
    }
    arguments = [values[name] for name in names]
    if connection is not None:
        row = dict(await connection.fetchrow(sql, *arguments))
    else:
        (row,) = await client.execute_query_dict(sql, arguments)
    found = row["schedule_id"] is not None
    if found:
        row = _python_values(row)
    return RequestFacts(
        earlier_id=row["earlier_id"],
        earlier_fingerprint=row["earlier_fingerprint"],
        slot_found=found,
        slot_starts_at=row["slot_starts_at"],
        slot_ends_at=row["slot_ends_at"],
        remaining=row["remaining"] or 0,
        desk_remaining=row["desk_remaining"] or 0,
        bookable=bool(row["bookable"]),
        schedule_id=row["schedule_id"] or 0,
        schedule_status=row["schedule_status"] or "",
        release_at=row["release_at"],
        session_starts_at=row["session_starts_at"],
        session_ends_at=row["session_ends_at"],
        fee=row["fee"] or 0,
        visit_date=row["visit_date"],
        department_id=row["department_id"] or 0,
        doctor_name=row["doctor_name"] or "",
        department_name=row["department_name"] or "",
        patient_id=row["patient_id"],
        patient_name=row["patient_name"] or "",
        patient_phone=row["patient_phone"] or "",
        blocked_until=row["blocked_until"],
        followup_remaining=row["followup_remaining"] or 0,
        staff_remaining=row["staff_remaining"] or 0,
        followup_window_days=row["followup_window_days"] or 0,
        reserved_release_minutes=row["reserved_release_minutes"] or 0,
        staff_member=bool(row["staff_member"]),
        last_visit_date=row["last_visit_date"],
    )


# PostgreSQL only. Each part runs when the one before it produced a row: the quota unit (the
# account's counter row, locked first as everywhere), then the seat (the hot row, locked last), the
# session's counter only for a number past the slot's block, then the rows that hang off the booking.
# A statement that took the quota but found no seat must give the quota back: it divides by the
# number of bookings made (zero), which aborts, and so rolls back, the whole statement.
BOOK_IN_ONE_STATEMENT = """
WITH quota AS (
    INSERT INTO booking_quota AS q (account_id, visit_date, active)
    VALUES (:account_id::int, :visit_date::date, 1)
    ON CONFLICT (account_id, visit_date) DO UPDATE SET active = q.active + 1
    WHERE q.active < :quota_limit::int
    RETURNING 1
), seat AS (
    -- One seat: from the 复诊 share, then the staff share, when the request may take them (decision
    -- 241), else from the general pool. Every CASE reads the row as locked (PostgreSQL re-evaluates a
    -- concurrently updated row), so no counter goes below zero.
    UPDATE slot SET
        followup_remaining = followup_remaining
            - CASE WHEN :followup_ok::boolean AND followup_remaining > 0 THEN 1 ELSE 0 END,
        staff_remaining = staff_remaining
            - CASE WHEN :followup_ok::boolean AND followup_remaining > 0 THEN 0
                   WHEN :staff_ok::boolean AND staff_remaining > 0 THEN 1 ELSE 0 END,
        remaining = remaining
            - CASE WHEN :followup_ok::boolean AND followup_remaining > 0 THEN 0
                   WHEN :staff_ok::boolean AND staff_remaining > 0 THEN 0 ELSE 1 END,
        issued = issued + 1
    WHERE id = :slot_id::int AND bookable AND EXISTS (SELECT FROM quota)
      AND (remaining > 0 OR (:followup_ok::boolean AND followup_remaining > 0)
           OR (:staff_ok::boolean AND staff_remaining > 0))
    RETURNING first_number, block_size, issued
), overflow AS (
    UPDATE schedule SET next_number = next_number + 1
    WHERE id = :schedule_id::int AND EXISTS (SELECT FROM seat WHERE issued > block_size)
    RETURNING next_number - 1 AS number
), made AS (
    INSERT INTO booking (
        account_id, patient_id, schedule_id, slot_id, department_id, visit_date, slot_starts_at,
        slot_ends_at, status, queue_number, fee, expires_at, active_session_key,
        active_department_day_key, idempotency_key, request_fingerprint, cancel_reason, created_at,
        updated_at)
    SELECT :account_id::int, :patient_id::int, :schedule_id::int, :slot_id::int, :department_id::int,
           :visit_date::date, :slot_starts_at::timestamptz, :slot_ends_at::timestamptz, :status::text,
           CASE WHEN seat.issued <= seat.block_size THEN seat.first_number + seat.issued - 1
                ELSE (SELECT number FROM overflow) END,
           :fee::int, :expires_at::timestamptz, :active_session_key::text,
           :active_department_day_key::text, :idempotency_key::text, :request_fingerprint::text, '',
           :now::timestamptz, :now::timestamptz
    FROM seat
    RETURNING id, queue_number
), event AS (
    INSERT INTO booking_event (booking_id, from_status, to_status, actor_id, reason, at)
    SELECT id, NULL, :status::text, :account_id::int, '', :now::timestamptz FROM made
), text_message AS (
    INSERT INTO sms_message (
        account_id, phone, event, locale, body, params, dedupe_key, idempotency_key, status, attempts,
        max_attempts, next_attempt_at, last_error, provider_message_id, created_at, request_id)
    SELECT :account_id::int, :phone::text, :event::text, :locale::text,
           replace(:body::text, :number_marker::text, made.queue_number::text),
           jsonb_set(:params::jsonb, '{queue_number}', to_jsonb(made.queue_number::text)),
           :dedupe_prefix::text || made.id,
           'gl' || left(encode(sha256(convert_to(:dedupe_prefix::text || made.id, 'UTF8')), 'hex'), 40),
           'pending', 0, :max_attempts::int, :now::timestamptz, '', '', :now::timestamptz,
           :request_id::text
    FROM made WHERE :notify::boolean
    ON CONFLICT DO NOTHING
), inbox AS (
    INSERT INTO notification (
        account_id, event, title, body, params, booking_id, dedupe_key, created_at)
    SELECT :account_id::int, :event::text, :title::text,
           replace(:body::text, :number_marker::text, made.queue_number::text),
           jsonb_set(:params::jsonb, '{queue_number}', to_jsonb(made.queue_number::text)),
           made.id, :dedupe_prefix::text || made.id, :now::timestamptz
    FROM made WHERE :notify::boolean
    ON CONFLICT DO NOTHING
), reminder AS (
    INSERT INTO job (
        kind, payload, dedupe_key, run_at, attempts, max_attempts, last_error, created_at, request_id)
    SELECT :reminder_kind::text, jsonb_build_object('booking_id', made.id),
           :reminder_kind::text || ':' || made.id, :reminder_at::timestamptz, 0, 8, '', :now::timestamptz,
           :request_id::text
    FROM made WHERE :notify::boolean AND :reminder_at::timestamptz IS NOT NULL
    ON CONFLICT DO NOTHING
), stats AS (
    INSERT INTO stat_daily AS s (day, department_id, doctor_id, metric, shard, value)
    SELECT c.day, :department_id::int, sc.doctor_id, c.metric, made.id % :stat_shards::int, c.amount
    FROM made
    JOIN schedule sc ON sc.id = :schedule_id::int
    CROSS JOIN unnest(:stat_days::date[], :stat_metrics::text[], :stat_amounts::int[])
        AS c(day, metric, amount)
    ON CONFLICT (day, department_id, doctor_id, metric, shard) DO UPDATE SET value = s.value + excluded.value
)
SELECT EXISTS (SELECT FROM quota) AS quota_taken, made.id, made.queue_number,
       CASE WHEN EXISTS (SELECT FROM quota) AND made.id IS NULL
            THEN 1 / (SELECT count(*) FROM made)::int END AS quota_given_back
FROM (SELECT 1 AS one) AS request LEFT JOIN made ON true
"""
