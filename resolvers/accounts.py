from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import audit
from models.access_tokens import hash_refresh_token, issue_access_token, new_refresh_token
from models.accounts import Account, IdKind, Patient, RefreshToken, Relation, Role
from models.clock import utcnow
from models.errors import DomainError, InvalidInput, NotFound
from models.identity import (
    campus_number_problem,
    mask_id_number,
    normalise_phone,
    normalise_resident_id,
    phone_problem,
    resident_id_problem,
)
from models.passwords import hash_password, password_problem, verify_password
from models.personal_data import keyring
from resolvers.context import Context


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


class DuplicatePatient(DomainError):
    default_message = "this person is already one of your patients"


@dataclass(frozen=True)
class Session:
    account: Account
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str


def _check_phone(phone: str, field: str = "phone") -> str:
    problem = phone_problem(phone)
    if problem:
        raise InvalidInput(field, problem)
    return normalise_phone(phone)


async def _open_session(context: Context, account: Account, family: str | None = None) -> Session:
    settings = context.settings
    access, expires = issue_access_token(
        settings.secret_key.get_secret_value(),
        subject=account.id,
        role=account.role.value,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
    refresh, refresh_hash = new_refresh_token()
    await RefreshToken.create(
        account=account,
        token_hash=refresh_hash,
        family=family or secrets.token_hex(16),
        expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
    )
    return Session(account, access, expires, refresh)


async def register(context: Context, phone: str, password: str, name: str) -> Session:
    phone = _check_phone(phone)
    problem = password_problem(password)
    if problem:
        raise InvalidInput("password", problem)
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise InvalidInput("name", "a name has 1-64 characters")
    try:
        async with in_transaction():
            account = await Account.create(
                phone=phone, password_hash=hash_password(password), name=name, role=Role.PATIENT
            )
            return await _open_session(context, account)
    except IntegrityError:
        raise PhoneTaken() from None


async def login(context: Context, phone: str, password: str) -> Session:
    account = await Account.get_or_none(phone=normalise_phone(phone))
    if not verify_password(account.password_hash if account else None, password) or account is None:
        raise InvalidCredentials()
    if account.disabled:
        raise AccountDisabled()
    return await _open_session(context, account)


async def refresh(context: Context, token: str) -> Session:
    now = utcnow()
    async with in_transaction():
        row = await RefreshToken.get_or_none(token_hash=hash_refresh_token(token))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise InvalidRefreshToken()
        # Claim the token with a conditional update: of two concurrent refreshes only one wins.
        claimed = await RefreshToken.filter(id=row.id, used_at__isnull=True).update(used_at=now)
        if claimed != 1:
            # A used token came back: it was stolen or replayed. Revoke the whole login.
            await RefreshToken.filter(family=row.family, revoked_at__isnull=True).update(revoked_at=now)
            reused = True
        else:
            reused = False
            account = await Account.get(id=row.account_id)  # type: ignore[attr-defined]
    if reused:
        raise InvalidRefreshToken("this refresh token was already used; every session of it is revoked")
    if account.disabled:
        raise AccountDisabled()
    return await _open_session(context, account, family=row.family)


async def logout(context: Context, token: str | None) -> bool:
    account_id = context.viewer.account_id
    now = utcnow()
    if token:
        row = await RefreshToken.get_or_none(token_hash=hash_refresh_token(token), account_id=account_id)
        if row is not None:
            await RefreshToken.filter(family=row.family, revoked_at__isnull=True).update(revoked_at=now)
            return True
        return False
    await RefreshToken.filter(account_id=account_id, revoked_at__isnull=True).update(revoked_at=now)
    return True


async def me(context: Context) -> Account:
    account = await Account.get_or_none(id=context.viewer.account_id)
    if account is None:
        raise NotFound("account not found")
    return account


async def add_patient(
    context: Context, name: str, id_number: str, phone: str, relation: Relation, id_kind: IdKind
) -> Patient:
    account_id = context.viewer.account_id
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise InvalidInput("name", "a name has 1-64 characters")
    if id_kind is IdKind.RESIDENT_ID:
        problem = resident_id_problem(id_number)
        id_number = normalise_resident_id(id_number)
    else:
        problem = campus_number_problem(id_number)
        id_number = id_number.strip().upper()
    if problem:
        raise InvalidInput("idNumber", problem)
    phone = _check_phone(phone)
    ring = keyring()
    lookup = ring.lookup_hash(f"{id_kind.value}:{id_number}")
    limit = context.settings.max_patients_per_account
    async with in_transaction():
        # Lock the account row so two concurrent adds cannot both pass the limit check.
        await Account.select_for_update().filter(id=account_id).first()
        active = await Patient.filter(account_id=account_id, archived_at__isnull=True)
        if any(p.id_number_hash == lookup for p in active):
            raise DuplicatePatient()
        if len(active) >= limit:
            raise PatientLimitReached(f"an account may manage at most {limit} patients")
        if relation is Relation.SELF and any(p.relation is Relation.SELF for p in active):
            raise InvalidInput("relation", "you already have a patient who is yourself")
        archived = await Patient.get_or_none(account_id=account_id, id_number_hash=lookup)
        if archived is not None:
            archived.archived_at = None
            archived.name, archived.phone, archived.relation = name, phone, relation
            await archived.save()
            return archived
        try:
            patient = await Patient.create(
                account_id=account_id,
                name=name,
                relation=relation,
                id_kind=id_kind,
                id_number_cipher=ring.encrypt(id_number, context=f"patient-id:{lookup}"),
                id_number_hash=lookup,
                id_number_masked=mask_id_number(id_number),
                phone=phone,
            )
        except IntegrityError:
            raise DuplicatePatient() from None
        await audit.record(account_id, "patient.add", "patient", patient.id, after={"name": name})
        return patient


async def my_patients(context: Context) -> list[Patient]:
    return await Patient.filter(account_id=context.viewer.account_id, archived_at__isnull=True).order_by("id")


async def remove_patient(context: Context, patient_id: int) -> Patient:
    patient = await Patient.get_or_none(
        id=patient_id, account_id=context.viewer.account_id, archived_at__isnull=True
    )
    if patient is None:
        raise NotFound("patient not found")
    patient.archived_at = utcnow()
    await patient.save(update_fields=["archived_at"])
    return patient


def reveal_id_number(patient: Patient) -> str:
    return keyring().decrypt(patient.id_number_cipher, context=f"patient-id:{patient.id_number_hash}")


async def reveal_patient_id_number(context: Context, patient_id: int, reason: str) -> str:
    """Admins only (enforced on the field); every reveal is audit-logged, the value never is."""
    if not reason.strip():
        raise InvalidInput("reason", "say why the full number is needed")
    patient = await Patient.get_or_none(id=patient_id)
    if patient is None:
        raise NotFound("patient not found")
    await audit.record(
        context.viewer.account_id, "patient.reveal_id_number", "patient", patient.id, reason=reason
    )
    return reveal_id_number(patient)
