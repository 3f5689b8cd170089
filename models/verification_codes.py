"""SMS login codes: 6 digits, valid a few minutes, a bounded number of guesses, one use.

Only an HMAC of the code is stored. The attempt counter is raised by a conditional UPDATE before
the comparison, so concurrent guesses cannot exceed the limit between a read and a write.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from tortoise import fields
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.clock import utcnow
from models.errors import DomainError
from models.message_templates import Locale, render
from models.notifications import record_sms

CODE_DIGITS = 6


class VerificationCode(Model):
    id = fields.BigIntField(primary_key=True)
    phone = fields.CharField(max_length=20, db_index=True)
    # What the code proves: "login" (loginWithCode), "patient-phone:<id>" (verifyPatientPhone) or
    # "password-reset" (completePasswordReset); a code of one purpose neither replaces nor answers
    # for another.
    purpose = fields.CharField(max_length=40, default="login")
    code_hash = fields.CharField(max_length=64)
    expires_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField()
    consumed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "verification_code"


class InvalidCode(DomainError):
    default_message = "the code is wrong or has expired; request a new one"


class TooManyCodeAttempts(DomainError):
    default_message = "too many wrong codes; request a new one"


LOGIN = "login"
PASSWORD_RESET = "password-reset"  # noqa: S105 (a code purpose, not a password)


def _code_hash(secret: str, phone: str, code: str, purpose: str) -> str:
    message = f"{purpose}-code:{phone}:{code}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


async def issue(
    phone: str,
    *,
    secret: str,
    minutes: int,
    max_attempts: int,
    locale: Locale,
    tz: ZoneInfo,
    account_id: int | None,
    purpose: str = LOGIN,
    event: str = "verification.code",
) -> VerificationCode:
    """A new code replaces any earlier one; the text is recorded in the same transaction."""
    code = new_code()
    now = utcnow()
    message = render(event, {"code": code, "minutes": minutes}, locale, tz)
    # Earlier codes are looked up without locking and retired by primary key: an UPDATE … WHERE phone
    # would take InnoDB gap locks that deadlock concurrent first codes for different phones.
    earlier = await VerificationCode.filter(
        phone=phone, purpose=purpose, consumed_at__isnull=True
    ).values_list("id", flat=True)
    async with in_transaction():
        if earlier:
            await VerificationCode.filter(id__in=list(earlier), consumed_at__isnull=True).update(
                consumed_at=now
            )
        row = await VerificationCode.create(
            phone=phone,
            purpose=purpose,
            code_hash=_code_hash(secret, phone, code, purpose),
            expires_at=now + timedelta(minutes=minutes),
            max_attempts=max_attempts,
        )
        await record_sms(phone, message, dedupe_key=f"{event}:{row.id}", account_id=account_id)
    return row


async def verify(phone: str, code: str, *, secret: str, purpose: str = LOGIN) -> None:
    """Consumes the phone's current code if `code` matches; raises InvalidCode or TooManyCodeAttempts."""
    now = utcnow()
    row = (
        await VerificationCode.filter(phone=phone, purpose=purpose, consumed_at__isnull=True)
        .order_by("-id")
        .first()
    )
    if row is None or row.expires_at <= now:
        raise InvalidCode()
    counted = await VerificationCode.filter(
        id=row.id, consumed_at__isnull=True, attempts__lt=row.max_attempts
    ).update(attempts=F("attempts") + 1)
    if counted != 1:
        fresh = await VerificationCode.get(id=row.id)
        if fresh.consumed_at is None and fresh.attempts >= fresh.max_attempts:
            raise TooManyCodeAttempts()
        raise InvalidCode()
    if not hmac.compare_digest(row.code_hash, _code_hash(secret, phone, code, purpose)):
        raise InvalidCode()
    # One use: of two concurrent logins with the right code, one consumes it.
    if await VerificationCode.filter(id=row.id, consumed_at__isnull=True).update(consumed_at=now) != 1:
        raise InvalidCode()


async def purge_expired() -> int:
    return await VerificationCode.filter(expires_at__lt=utcnow() - timedelta(days=1)).delete()
