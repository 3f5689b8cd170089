"""Notifications through a transactional outbox (docs/decisions/070-notification-outbox.md).

`notify` writes rows in the caller's transaction: an SMS outbox row and an in-app notification. A
rolled-back change therefore sends nothing and a committed one is never forgotten. The dispatcher
(resolvers/notifications.py) claims due SMS rows with a lease, hands them to the provider with a stable
idempotency key, and records the outcome; in-app rows are published to the broker after commit by the
same loop.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections, fields
from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.accounts import Account
from models.clock import utcnow
from models.correlation import request_id
from models.message_templates import Locale, RenderedMessage, render
from models.text_rules import is_person_name

WORKER_ID = secrets.token_hex(6)
REDACTED = "[redacted after sending]"
UNNAMED_PATIENT = "就诊人"


# A booking that becomes certain (paid, or booked from the waitlist) gets the day-before reminder.
class SmsStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class SmsMessage(Model):
    # One text for one phone; the outbox row the dispatcher delivers.
    id = fields.BigIntField(primary_key=True)
    account_id = fields.IntField(null=True, db_index=True)  # NULL for a login code to a new phone
    phone = fields.CharField(max_length=20)
    event = fields.CharField(max_length=40)
    locale = fields.CharField(max_length=4)
    body = fields.TextField()
    params: Any = fields.JSONField(default=dict)
    dedupe_key = fields.CharField(max_length=128, unique=True)
    # Derived from dedupe_key, sent to the provider with every attempt of this message.
    idempotency_key = fields.CharField(max_length=64, unique=True)
    status = fields.CharEnumField(SmsStatus, max_length=16, default=SmsStatus.PENDING)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=6)
    next_attempt_at = fields.DatetimeField(db_index=True)
    locked_until = fields.DatetimeField(null=True)
    locked_by = fields.CharField(max_length=32, null=True)
    sent_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    provider_message_id = fields.CharField(max_length=128, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    request_id = fields.CharField(max_length=64, default="")  # of the request that recorded it

    class Meta:
        table = "sms_message"
        indexes = (("status", "next_attempt_at"),)


class Notification(Model):
    # An in-app message, shown in the app's inbox and pushed to its subscription.
    id = fields.BigIntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Account", related_name="notifications", on_delete=fields.CASCADE
    )
    event = fields.CharField(max_length=40)
    title = fields.CharField(max_length=64)
    body = fields.TextField()
    params: Any = fields.JSONField(default=dict)
    booking_id = fields.IntField(null=True)
    dedupe_key = fields.CharField(max_length=128, unique=True)
    read_at = fields.DatetimeField(null=True)
    # Set when a dispatcher took the row to publish it, so that each row is published once.
    published_at = fields.DatetimeField(null=True, db_index=True)
    published_by = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification"
        indexes = (("account_id", "read_at"),)


def idempotency_key_for(dedupe_key: str) -> str:
    """Stable across retries and processes: the provider sees the same key for every attempt."""
    return "gl" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class NotifyDefaults:
    locale: Locale
    tz_name: str
    max_attempts: int
    visit_reminder_hour: int


_defaults_installed: NotifyDefaults | None = None


def install_defaults(defaults: NotifyDefaults) -> None:
    """Set by the edge when a process opens its database (gualema/domain_policies.py): callers of
    notify() do not carry settings, and nothing here reads them (docs/decisions/132)."""
    global _defaults_installed
    _defaults_installed = defaults


def notice_defaults() -> NotifyDefaults:
    if _defaults_installed is None:
        raise RuntimeError("notification defaults are installed when the database is opened")
    return _defaults_installed


def _check_dedupe_key(dedupe_key: str) -> None:
    if not dedupe_key or len(dedupe_key) > 120:
        raise ValueError("dedupe_key must have 1-120 characters")


async def _insert_ignoring_duplicate(row: Model) -> None:
    # INSERT … ON CONFLICT DO NOTHING / INSERT IGNORE / INSERT OR IGNORE: a repeated dedupe key is a
    # no-op and, unlike a caught IntegrityError, never aborts the caller's PostgreSQL transaction.
    await type(row).bulk_create([row], ignore_conflicts=True)


async def record_sms(
    phone: str,
    message: RenderedMessage,
    *,
    dedupe_key: str,
    account_id: int | None = None,
    max_attempts: int | None = None,
) -> None:
    """The SMS half of notify(), also used for login codes to phones without an account."""
    _check_dedupe_key(dedupe_key)
    await _insert_ignoring_duplicate(
        SmsMessage(
            account_id=account_id,
            phone=phone,
            event=message.event,
            locale=message.locale,
            body=message.body,
            params=message.params,
            dedupe_key=dedupe_key,
            idempotency_key=idempotency_key_for(dedupe_key),
            max_attempts=max_attempts or notice_defaults().max_attempts,
            next_attempt_at=utcnow(),
            request_id=request_id.get(),
        )
    )


def rendered_notice(
    event: str, params: dict[str, Any], locale: Locale | None = None
) -> tuple[RenderedMessage, NotifyDefaults]:
    """The message as notify() records it, with the settings it was recorded under: also for a caller
    that writes the outbox rows in its own statement (the booking hot path, models/booking_sql.py)."""
    defaults = notice_defaults()
    rendered = render(event, _named_safely(params), locale or defaults.locale, ZoneInfo(defaults.tz_name))
    return rendered, defaults


def _named_safely(params: dict[str, Any]) -> dict[str, Any]:
    # Names are validated when typed (text_rules.person_name); one stored before that rule, or by a
    # path that skipped it, is never carried into a hospital-branded text.
    name = params.get("patient_name")
    if isinstance(name, str) and not is_person_name(name):
        return {**params, "patient_name": UNNAMED_PATIENT}
    return params


async def notify(
    account_id: int,
    event: str,
    params: dict[str, Any],
    *,
    dedupe_key: str,
    sms: bool = True,
    in_app: bool = True,
    booking_id: int | None = None,
    locale: Locale | None = None,
    phone: str | None = None,
    sms_params: dict[str, Any] | None = None,
) -> None:
    """Record a message for `account_id` inside the caller's transaction.

    `event` names a template (models/message_templates.py) and `params` must hold exactly its
    variables (TemplateError otherwise). The same `dedupe_key` never records a second message.
    `phone` overrides the account's phone for the text (e.g. a family member's). With `booking_id`
    the in-app message links to the booking (the visit reminder is a reaction: models/reactions.py).
    `sms_params`, when given, are the text's words where the in-app message may show the patient's
    own (their cancel reason): an SMS carries only the hospital's words.
    """
    _check_dedupe_key(dedupe_key)
    rendered, defaults = rendered_notice(event, params, locale)
    if sms:
        if phone is None:
            account = await Account.get(id=account_id)
            phone = account.phone
        texted = rendered if sms_params is None else rendered_notice(event, sms_params, locale)[0]
        await record_sms(
            phone, texted, dedupe_key=dedupe_key, account_id=account_id, max_attempts=defaults.max_attempts
        )
    if in_app:
        await _insert_ignoring_duplicate(
            Notification(
                account_id=account_id,
                event=event,
                title=rendered.title,
                body=rendered.body,
                params=rendered.params,
                booking_id=booking_id,
                dedupe_key=dedupe_key,
            )
        )


# -- the SMS dispatcher's steps (the loop that calls the provider is in resolvers/notifications.py)


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_seconds: float

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))


def _due(now: datetime) -> Q:
    return Q(status=SmsStatus.PENDING, next_attempt_at__lte=now) & (
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )


def _supports_skip_locked() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"


async def claim_due_sms(*, lease: timedelta, limit: int) -> list[SmsMessage]:
    """Take up to `limit` due messages for this process for `lease`; every claim is exclusive.

    PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, so concurrent dispatchers take disjoint rows without
    waiting. Elsewhere: the job queue's conditional UPDATE on the observed lease and attempt count, of
    which exactly one process wins (docs/decisions/070-notification-outbox.md).
    """
    now = utcnow()
    token = f"{WORKER_ID}-{secrets.token_hex(4)}"
    values: dict[str, Any] = {"locked_until": now + lease, "locked_by": token, "attempts": F("attempts") + 1}
    if _supports_skip_locked():
        async with in_transaction() as conn:
            rows = (
                await SmsMessage.filter(_due(now))
                .using_db(conn)
                .order_by("next_attempt_at", "id")
                .limit(limit)
                .select_for_update(skip_locked=True)
            )
            if not rows:
                return []
            await SmsMessage.filter(id__in=[r.id for r in rows]).using_db(conn).update(**values)
    else:
        candidates = await SmsMessage.filter(_due(now)).order_by("next_attempt_at", "id").limit(limit)
        for row in candidates:
            lease_held = (
                Q(locked_until__isnull=True) if row.locked_until is None else Q(locked_until=row.locked_until)
            )
            await SmsMessage.filter(
                Q(id=row.id), Q(status=SmsStatus.PENDING), Q(attempts=row.attempts), lease_held
            ).update(**values)
    return await SmsMessage.filter(locked_by=token, status=SmsStatus.PENDING).order_by("id")


async def release_sms_claims() -> int:
    """At shutdown: texts this process claimed but did not settle become claimable at once."""
    return await SmsMessage.filter(
        locked_by__startswith=f"{WORKER_ID}-", status=SmsStatus.PENDING, locked_until__isnull=False
    ).update(locked_until=None)


# Text that must reach the provider is kept only until the attempts are over (sent, or given up):
# then body and parameters are blanked, for every event, so the outbox holds no names, codes or
# times once it has done its job (issue 13.9). The in-app copy, which the inbox shows, is kept.
ERASED_TEXT: dict[str, Any] = {"body": REDACTED, "params": {}}


async def mark_sent(message: SmsMessage, provider_message_id: str) -> bool:
    done = await SmsMessage.filter(
        id=message.id, locked_by=message.locked_by, status=SmsStatus.PENDING
    ).update(
        status=SmsStatus.SENT,
        sent_at=utcnow(),
        locked_until=None,
        provider_message_id=provider_message_id[:128],
        **ERASED_TEXT,
    )
    return done == 1


async def flush_erased_text() -> None:
    """On SQLite the erased text lives on in the write-ahead log's older page images until a
    checkpoint: copy the log into the file (secure_delete zeroes the freed cells there) and truncate
    it. PostgreSQL and MariaDB keep their logs out of an application's reach; nothing to do there."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        await conn.execute_query("PRAGMA wal_checkpoint(TRUNCATE)")


async def mark_attempt_failed(
    message: SmsMessage, error: str, *, retryable: bool, policy: RetryPolicy
) -> bool:
    """A retryable failure waits with exponential backoff; the last attempt, or a permanent one, fails."""
    now = utcnow()
    owned = SmsMessage.filter(id=message.id, locked_by=message.locked_by, status=SmsStatus.PENDING)
    if not retryable or message.attempts >= message.max_attempts:
        await owned.update(
            status=SmsStatus.FAILED,
            failed_at=now,
            locked_until=None,
            last_error=error[:2000],
            **ERASED_TEXT,
        )
        return False
    await owned.update(
        next_attempt_at=now + policy.delay(message.attempts), locked_until=None, last_error=error[:2000]
    )
    return True


# -- in-app messages: published to the account's channel once their transaction has committed


def channel_for(account_id: int) -> str:
    return f"notifications:{account_id}"


async def claim_unpublished(limit: int) -> list[Notification]:
    token = f"{WORKER_ID}-{secrets.token_hex(4)}"
    ids = (
        await Notification.filter(published_at__isnull=True)
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not ids:
        return []
    await Notification.filter(id__in=list(ids), published_at__isnull=True).update(
        published_at=utcnow(), published_by=token
    )
    return await Notification.filter(published_by=token).order_by("id")


# -- the inbox


async def unread_count(account_id: int) -> int:
    return await Notification.filter(account_id=account_id, read_at__isnull=True).count()


async def mark_read(account_id: int, ids: list[int] | None) -> int:
    query = Notification.filter(account_id=account_id, read_at__isnull=True)
    if ids is not None:
        query = query.filter(id__in=ids)
    return await query.update(read_at=utcnow())
