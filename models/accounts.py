from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.models import Model

from models.access_revocations import AccessRevocation, revoke_account
from models.clock import utcnow
from models.errors import DomainError
from models.identity import mask_id_number
from models.personal_data import encrypted_column, keyring


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    ADMIN = "admin"
    REGISTRAR = "registrar"  # 挂号窗口: front-desk staff, scoped to departments (StaffDepartment)


class Relation(StrEnum):
    SELF = "self"
    PARENT = "parent"
    CHILD = "child"
    SPOUSE = "spouse"
    SIBLING = "sibling"
    OTHER = "other"


class IdKind(StrEnum):
    RESIDENT_ID = "resident_id"
    CAMPUS_NUMBER = "campus_number"


class InvalidCredentials(DomainError):
    default_message = "wrong phone number or password"


class AccountDisabled(DomainError):
    default_message = "this account is disabled"


class PhoneTaken(DomainError):
    default_message = "an account with this phone number exists"


class InvalidRefreshToken(DomainError):
    default_message = "the refresh token is invalid, expired or already used; log in again"


class PatientLimitReached(DomainError):
    default_message = "this account manages the maximum number of patients"


class PatientInUse(DomainError):
    default_message = "this patient has an active booking or waitlist entry; cancel or finish it first"


class DuplicatePatient(DomainError):
    default_message = "this person is already one of your patients"


class LoginThrottled(DomainError):
    default_message = "too many login attempts; try again later"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"too many login attempts; try again in {retry_after_seconds} s",
            retry_after_seconds=retry_after_seconds,
        )


class Account(Model):
    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=20, unique=True)
    password_hash = fields.CharField(max_length=200, null=True)
    name = fields.CharField(max_length=64)
    role = fields.CharEnumField(Role, max_length=16, default=Role.PATIENT, db_index=True)
    disabled = fields.BooleanField(default=False, db_index=True)
    disabled_reason = fields.CharField(max_length=200, null=True)
    # Hospital staff or a student of its school: may take a registration type's staff share (decision
    # 241). Set by administrators, audited.
    staff_or_student = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class StaffDepartment(Model):
    # The departments a registrar serves at the desk.
    id = fields.IntField(primary_key=True)
    account_id = fields.IntField(db_index=True)
    department_id = fields.IntField()

    class Meta:
        table = "staff_department"
        unique_together = (("account_id", "department_id"),)


# What an audit entry records of an account; the phone is stored masked.
ACCOUNT_AUDIT_FIELDS = ("name", "role", "disabled", "disabled_reason", "staff_or_student")


class RefreshToken(Model):
    # One row per issued refresh token; a family is the chain of rotations of one login.

    id = fields.IntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    family = fields.CharField(max_length=32, db_index=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refresh_token"


async def revoke_all_sessions(account_id: int, access_lifetime: timedelta) -> AccessRevocation:
    """Every login of the account ends now: its refresh tokens, and its access tokens issued so far.
    Call inside the change's transaction, then `access_revocations.remember` the row after commit."""
    await RefreshToken.filter(account_id=account_id, revoked_at__isnull=True).update(revoked_at=utcnow())
    return await revoke_account(account_id, access_lifetime)


class LoginThrottle(Model):
    # A fixed window of password-login attempts for one key (a hash of phone + client IP).
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    attempts = fields.IntField(default=0)
    window_started_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_throttle"


async def claim_login_attempt(key: str, limit: int, window: timedelta) -> None:
    """Counts one attempt against `key` or raises LoginThrottled.

    Each path is a single conditional statement, so concurrent attempts can never pass the limit
    (docs/decisions/021-login-throttle.md).
    """
    for _ in range(4):
        now = utcnow()
        window_open_since = now - window
        in_window = LoginThrottle.filter(key=key, window_started_at__gt=window_open_since)
        if await in_window.filter(attempts__lt=limit).update(attempts=F("attempts") + 1):
            return
        expired = LoginThrottle.filter(key=key, window_started_at__lte=window_open_since)
        if await expired.update(attempts=1, window_started_at=now):
            return
        row = await LoginThrottle.get_or_none(key=key)
        if row is None:
            try:
                await LoginThrottle.create(key=key, attempts=1, window_started_at=now)
                return
            except IntegrityError:
                continue  # a concurrent first attempt created it; count against that row
        elif row.window_started_at > window_open_since and row.attempts >= limit:
            retry_after = row.window_started_at + window - now
            raise LoginThrottled(max(1, int(retry_after.total_seconds()) + 1))
    raise LoginThrottled(int(window.total_seconds()))


async def clear_login_attempts(key: str) -> None:
    await LoginThrottle.filter(key=key).delete()


async def give_back_login_attempt(key: str) -> None:
    """A successful login does not count against a ceiling of failures (e.g. per client address)."""
    await LoginThrottle.filter(key=key, attempts__gt=0).update(attempts=F("attempts") - 1)


async def purge_login_throttles(window: timedelta) -> int:
    return await LoginThrottle.filter(window_started_at__lt=utcnow() - window).delete()


class Patient(Model):
    # A 就诊人: the account holder or a family member, with real-name data. The ID number is stored
    # encrypted, with a keyed hash for uniqueness and a mask for display; never in plain text.

    id = fields.IntField(primary_key=True)
    account_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="patients", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    relation = fields.CharEnumField(Relation, max_length=16)
    id_kind = fields.CharEnumField(IdKind, max_length=16)
    id_number_cipher = fields.CharField(max_length=200)
    id_number_hash = fields.CharField(max_length=64, db_index=True)
    id_number_masked = fields.CharField(max_length=32)
    phone = fields.CharField(max_length=20)
    # Set when a code texted to `phone` came back (verifyPatientPhone); until then, and again after
    # the phone changes, booking texts go to the account holder's phone (issue 13.3).
    phone_verified_at = fields.DatetimeField(null=True)
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "patient"
        unique_together = (("account", "id_number_hash"),)


def text_phone(patient: Patient) -> str | None:
    """Where a patient's texts go: their own phone once a code sent there came back, otherwise the
    account holder's (None), so a typed-in number never receives hospital texts unasked."""
    return patient.phone if patient.phone_verified_at is not None else None


# The masked number is audited, never the cipher or the hash.
PATIENT_AUDIT_FIELDS = ("name", "relation", "id_kind", "id_number_masked", "archived_at")


def _id_number_context(patient: Patient) -> str:
    # The ciphertext is bound to its hash: copied onto another person's row it does not decrypt.
    return f"patient-id:{patient.id_number_hash}"


encrypted_column(Patient, "id_number_cipher", _id_number_context)


@dataclass(frozen=True)
class SealedIdNumber:
    cipher: str
    lookup_hash: str
    masked: str


def id_number_lookup_hash(id_kind: IdKind, normalised_number: str) -> str:
    return keyring().lookup_hash(f"{id_kind.value}:{normalised_number}")


def seal_id_number(id_kind: IdKind, normalised_number: str) -> SealedIdNumber:
    lookup = id_number_lookup_hash(id_kind, normalised_number)
    return SealedIdNumber(
        cipher=keyring().encrypt(normalised_number, context=f"patient-id:{lookup}"),
        lookup_hash=lookup,
        masked=mask_id_number(normalised_number),
    )


def reveal_id_number(patient: Patient) -> str:
    return keyring().decrypt(patient.id_number_cipher, context=_id_number_context(patient))
