"""Use cases of notifications: the dispatcher that empties the outbox, the inbox, login codes and
follow-up reminders."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from gualema.settings import Settings
from integrations.sms import build_provider
from integrations.sms.interface import OutgoingSms, SmsError, SmsProvider
from models import jobs, notifications, rate_limits, reminders, verification_codes
from models.accounts import Account, Patient, Role
from models.clock import utcnow
from models.correlation import request_id
from models.errors import DomainError, InvalidInput, NotFound
from models.identity import mask_phone, normalise_phone, phone_problem
from models.message_templates import template_for
from models.notifications import Notification, RetryPolicy, SmsMessage
from models.rate_limits import Limit
from models.text_rules import clean_text
from realtime.broker import get_broker
from realtime.messages import is_resync
from resolvers.accounts import AccountDisabled, Session, _open_session
from resolvers.context import Context
from resolvers.pagination import Page, keyset_page

log = logging.getLogger("gualema.notifications")

CODE_FIELDS = frozenset(
    {
        "sendLoginCode",
        "loginWithCode",
        "sendPatientPhoneCode",
        "verifyPatientPhone",
        "requestPasswordReset",
        "resetAccountPassword",
        "completePasswordReset",
    }
)


class OneCodeRequestPerOperation(DomainError):
    default_message = "send or check one login code per request"


# -- the dispatcher


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    published: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.published


def _outgoing(message: SmsMessage) -> OutgoingSms:
    return OutgoingSms(
        phone=message.phone,
        event=message.event,
        text=message.body,
        params={str(k): str(v) for k, v in (message.params or {}).items()},
        variables=template_for(message.event).variables,
        idempotency_key=message.idempotency_key,
        masked_phone=mask_phone(message.phone),
    )


@dataclass(frozen=True)
class DailyCap:
    """Texts per phone per rolling day; the phone is counted under a keyed hash, so the limiter's
    table and the SQL log never show it."""

    limit: Limit
    key: bytes

    def subject(self, phone: str) -> str:
        return hmac.new(self.key, phone.encode(), hashlib.sha256).hexdigest()[:40]


async def _deliver(provider: SmsProvider, message: SmsMessage, policy: RetryPolicy, cap: DailyCap) -> str:
    request_id.set(message.request_id or f"sms-{message.id}")  # its own task (gather): logs name the cause
    if message.attempts > message.max_attempts:
        # The lease of the last attempt ran out (its process died): give up rather than send again.
        await notifications.mark_attempt_failed(
            message, "gave up: the last attempt did not finish", retryable=False, policy=policy
        )
        return "failed"
    if message.attempts == 1:
        # Every text to one phone counts, whatever path wrote it (codes, the booking hot path,
        # reminders): the cap is taken here, where they all pass, once per message.
        try:
            await rate_limits.take([(cap.limit, cap.subject(message.phone))])
        except rate_limits.RateLimited:
            await notifications.mark_attempt_failed(
                message, "daily cap for this phone reached", retryable=False, policy=policy
            )
            log.warning("SMS %s to %s not sent: daily cap", message.event, mask_phone(message.phone))
            return "failed"
    try:
        receipt = await provider.send(_outgoing(message))
    except SmsError as exc:
        retrying = await notifications.mark_attempt_failed(
            message, str(exc), retryable=exc.retryable, policy=policy
        )
        log.warning(
            "SMS %s to %s attempt %d/%d failed (%s)%s",
            message.event,
            mask_phone(message.phone),
            message.attempts,
            message.max_attempts,
            exc.code,
            "; will retry" if retrying else "; giving up",
        )
        return "retried" if retrying else "failed"
    await notifications.mark_sent(message, receipt.provider_message_id)
    return "sent"


async def dispatch_sms(settings: Settings, provider: SmsProvider, *, rounds: int = 10) -> DispatchReport:
    """Claims due texts in batches and sends each batch concurrently; one call empties what is due."""
    policy = RetryPolicy(settings.notification_backoff_seconds, settings.notification_backoff_max_seconds)
    lease = timedelta(seconds=settings.notification_lease_seconds)
    cap = DailyCap(
        Limit("sms-destination-day", settings.sms_daily_cap_per_phone, timedelta(days=1)),
        settings.secret_key.get_secret_value().encode(),
    )
    counts = {"sent": 0, "retried": 0, "failed": 0}
    for _round in range(rounds):
        batch = await notifications.claim_due_sms(lease=lease, limit=settings.notification_batch_size)
        if not batch:
            break
        for outcome in await asyncio.gather(*(_deliver(provider, m, policy, cap) for m in batch)):
            counts[outcome] += 1
    if counts["sent"] or counts["failed"]:
        await notifications.flush_erased_text()
    return DispatchReport(**counts)


async def publish_in_app(limit: int = 200) -> int:
    """Pushes committed in-app messages to their account's channel (publish after commit)."""
    rows = await notifications.claim_unpublished(limit)
    broker = get_broker()
    for row in rows:
        await broker.publish(notifications.channel_for(row.account_id), {"id": row.id, "event": row.event})
    return len(rows)


async def run_dispatcher(settings: Settings, provider: SmsProvider) -> int:
    report = await dispatch_sms(settings, provider)
    published = await publish_in_app()
    return report.sent + report.retried + report.failed + published


# -- the inbox


async def inbox(context: Context, first: int, after: int | None, unread_only: bool) -> Page[Notification]:
    query = Notification.filter(account_id=context.viewer.account_id)
    if unread_only:
        query = query.filter(read_at__isnull=True)
    return await keyset_page(query, first, after)


async def unread_count(context: Context) -> int:
    return await notifications.unread_count(int(context.viewer.account_id or 0))


async def mark_read(context: Context, ids: list[int] | None) -> int:
    if ids is not None and len(ids) > 500:
        raise InvalidInput("ids", "mark at most 500 notifications at once")
    return await notifications.mark_read(int(context.viewer.account_id or 0), ids)


async def own_notification(account_id: int, notification_id: int) -> Notification | None:
    return await Notification.get_or_none(id=notification_id, account_id=account_id)


CATCH_UP_LIMIT = 100


async def notification_stream(context: Context) -> AsyncIterator[Notification]:
    """The account's new notifications as they are published. Pub/sub is at-most-once: on the broker's
    resync (Redis came back, or this subscriber fell behind) the stream reads what it may have missed
    from the database, every row since the subscription began that it has not delivered, in order, so
    a notification published during an outage still arrives (once)."""
    account_id = int(context.viewer.account_id or 0)
    delivered: set[int] = set()
    async with get_broker().subscribe(notifications.channel_for(account_id)) as messages:
        # Subscribed first, then the baseline: a row committed in between is caught by either path.
        since = await Notification.filter(account_id=account_id).order_by("-id").first()
        baseline = since.id if since is not None else 0
        async for message in messages:
            if is_resync(message):
                since_subscribed = Notification.filter(account_id=account_id, id__gt=baseline)
                if delivered:
                    since_subscribed = since_subscribed.exclude(id__in=list(delivered))
                missed = await since_subscribed.order_by("id").limit(CATCH_UP_LIMIT)
            else:
                row = await own_notification(account_id, int(message.get("id", 0)))
                missed = [row] if row is not None and row.id not in delivered else []
            for row in missed:
                delivered.add(row.id)
                yield row


# -- login codes


def _phone(value: str) -> str:
    problem = phone_problem(value)
    if problem:
        raise InvalidInput("phone", problem)
    return normalise_phone(value)


def _limits(settings: Settings) -> tuple[list[Limit], list[Limit]]:
    per_phone = [
        Limit("phone-minute", settings.sms_limit_per_minute, timedelta(minutes=1)),
        Limit("phone-hour", settings.sms_limit_per_hour, timedelta(hours=1)),
        Limit("phone-day", settings.sms_limit_per_day, timedelta(days=1)),
    ]
    per_ip = [
        Limit("ip-hour", settings.sms_ip_limit_per_hour, timedelta(hours=1)),
        Limit("ip-day", settings.sms_ip_limit_per_day, timedelta(days=1)),
    ]
    return per_phone, per_ip


@dataclass(frozen=True)
class CodeSent:
    phone: str
    expires_at: datetime


async def text_code(
    context: Context,
    phone: str,
    *,
    account_id: int | None,
    purpose: str = verification_codes.LOGIN,
    event: str = "verification.code",
    per_address: bool = True,
    deliver: bool = True,
) -> CodeSent:
    """A code texted to `phone`, under the per-phone (and, for a caller's own request, per-address)
    limits of every code. With `deliver` false the limits are spent and the answer is the same, but
    nothing is stored or sent: a caller must not learn whether the phone has an account."""
    settings = context.settings
    per_phone, per_ip = _limits(settings)
    await rate_limits.take(
        [(limit, phone) for limit in per_phone]
        + ([(limit, context.client_ip) for limit in per_ip] if per_address else [])
    )
    if not deliver:
        return CodeSent(phone, utcnow() + timedelta(minutes=settings.login_code_minutes))
    row = await verification_codes.issue(
        phone,
        secret=settings.secret_key.get_secret_value(),
        minutes=settings.login_code_minutes,
        max_attempts=settings.login_code_max_attempts,
        locale=settings.notification_locale,
        tz=settings.tz,
        account_id=account_id,
        purpose=purpose,
        event=event,
    )
    log.info("%s code sent to %s", purpose.split(":")[0], mask_phone(phone))
    return CodeSent(phone, row.expires_at)


async def send_login_code(context: Context, phone: str) -> CodeSent:
    phone = _phone(phone)
    account = await Account.get_or_none(phone=phone)
    return await text_code(context, phone, account_id=account.id if account else None)


_CODE = re.compile(r"[0-9]{6}")


def check_code(code: str) -> None:
    if not _CODE.fullmatch(code):
        raise InvalidInput("code", "a login code has 6 digits")


async def login_with_code(context: Context, phone: str, code: str) -> Session:
    """Registers a patient account on the first login of a phone (docs/decisions/073-login-codes.md)."""
    phone = _phone(phone)
    check_code(code)
    await verification_codes.verify(phone, code, secret=context.settings.secret_key.get_secret_value())
    account = await Account.get_or_none(phone=phone)
    if account is None:
        try:
            async with in_transaction():
                account = await Account.create(
                    phone=phone, password_hash=None, name=f"用户{phone[-4:]}", role=Role.PATIENT
                )
        except IntegrityError:  # registered by a concurrent login of the same phone
            account = await Account.get(phone=phone)
    if account.disabled:
        raise AccountDisabled()
    return await _open_session(context, account)


# -- a 就诊人's own phone: booking texts go there only once a code sent there came back


def _patient_phone_purpose(patient_id: int) -> str:
    return f"patient-phone:{patient_id}"


async def _own_patient(context: Context, patient_id: int) -> Patient:
    patient = await Patient.get_or_none(
        id=patient_id, account_id=context.viewer.account_id, archived_at__isnull=True
    )
    if patient is None:
        raise NotFound("patient not found")
    return patient


async def send_patient_phone_code(context: Context, patient_id: int) -> CodeSent:
    patient = await _own_patient(context, patient_id)
    return await text_code(
        context, patient.phone, account_id=patient.account_id, purpose=_patient_phone_purpose(patient.id)
    )


async def verify_patient_phone(context: Context, patient_id: int, code: str) -> Patient:
    patient = await _own_patient(context, patient_id)
    check_code(code)
    await verification_codes.verify(
        patient.phone,
        code,
        secret=context.settings.secret_key.get_secret_value(),
        purpose=_patient_phone_purpose(patient.id),
    )
    # Conditional on the phone the code went to: a phone changed meanwhile stays unverified.
    await Patient.filter(id=patient.id, phone=patient.phone).update(phone_verified_at=utcnow())
    return await Patient.get(id=patient.id)


# -- follow-up reminders


@dataclass(frozen=True)
class FollowUpReminder:
    booking_id: int
    date: date
    note: str
    sends_at: datetime


async def set_follow_up_reminder(context: Context, booking_id: int, on: date, note: str) -> FollowUpReminder:
    settings = context.settings
    note = clean_text(note, field="note", max_length=200, required=False)
    sends_at = await reminders.set_followup_reminder(
        int(context.viewer.account_id or 0),
        booking_id,
        on,
        note,
        hour=settings.followup_reminder_hour,
        tz_name=settings.timezone,
    )
    return FollowUpReminder(booking_id, on, note, sends_at)


# -- background work, registered in gualema/background.py


class _ProviderHolder:
    """One provider (and its HTTP connection pool) per process, made on first use."""

    provider: SmsProvider | None = None

    @classmethod
    def get(cls, settings: Settings) -> SmsProvider:
        if cls.provider is None:
            cls.provider = build_provider(settings.sms_config())
        return cls.provider


def periodic_work(settings: Settings) -> list[tuple[str, float, Callable[[Settings], Awaitable[int]]]]:
    runner = jobs.JobRunner(reminders.reminder_handlers())

    async def dispatch(current: Settings) -> int:
        return await run_dispatcher(current, _ProviderHolder.get(current))

    async def send_reminders(_current: Settings) -> int:
        return await runner.run_once()

    async def purge(_current: Settings) -> int:
        return await rate_limits.purge_free_slots() + await verification_codes.purge_expired()

    return [
        ("notifications.dispatch", settings.notification_dispatch_seconds, dispatch),
        ("notifications.reminders", max(settings.notification_dispatch_seconds, 5.0), send_reminders),
        ("notifications.purge", 3600.0, purge),
    ]
