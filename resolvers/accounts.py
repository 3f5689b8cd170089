from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from gualema.settings import Settings
from models import audit, rate_limits
from models.access_revocations import remember, revoke_family, revoke_token
from models.access_tokens import hash_refresh_token, issue_access_token, new_refresh_token
from models.accounts import (
    PATIENT_AUDIT_FIELDS,
    Account,
    AccountDisabled,
    DuplicatePatient,
    IdKind,
    InvalidCredentials,
    InvalidRefreshToken,
    Patient,
    PatientInUse,
    PatientLimitReached,
    PhoneTaken,
    RefreshToken,
    Relation,
    Role,
    claim_login_attempt,
    clear_login_attempts,
    give_back_login_attempt,
    id_number_lookup_hash,
    reveal_id_number,
    revoke_all_sessions,
    seal_id_number,
)
from models.booking import ACTIVE as ACTIVE_BOOKING
from models.booking import Booking, BookingStatus
from models.clock import utcnow
from models.errors import InvalidInput, NotFound
from models.identity import (
    age_on,
    birth_date,
    campus_number_problem,
    normalise_campus_number,
    normalise_phone,
    normalise_resident_id,
    phone_problem,
    resident_id_problem,
    sex_of,
)
from models.passwords import hash_password, needs_rehash, password_problem, verify_password
from models.rate_limits import Limit
from models.text_rules import clean_text, person_name
from models.waitlist.entries import ACTIVE as ACTIVE_ENTRY
from models.waitlist.entries import WaitlistEntry
from resolvers.context import Context


@dataclass(frozen=True)
class Session:
    account: Account
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str


PAST_VISITS_SHOWN = 20  # a doctor's view of a patient's completed visits, newest first


def clean_phone(phone: str, field: str = "phone") -> str:
    problem = phone_problem(phone)
    if problem:
        raise InvalidInput(field, problem)
    return normalise_phone(phone)


def clean_name(name: str, field: str = "name") -> str:
    return clean_text(name, field=field, max_length=64)


def clean_password(password: str, field: str = "password") -> str:
    problem = password_problem(password)
    if problem:
        raise InvalidInput(field, problem)
    return password


async def hash_password_off_loop(password: str) -> str:
    # argon2id takes tens of milliseconds of CPU: keep it off the event loop.
    return await asyncio.to_thread(hash_password, password)


async def _open_session(context: Context, account: Account, family: str | None = None) -> Session:
    settings = context.settings
    family = family or secrets.token_hex(16)
    access, expires = issue_access_token(
        settings.secret_key.get_secret_value(),
        subject=account.id,
        role=account.role.value,
        lifetime=settings.access_token_lifetime,
        family=family,  # a reuse of the family's refresh token refuses its access tokens too
    )
    refresh, refresh_hash = new_refresh_token()
    await RefreshToken.create(
        account=account,
        token_hash=refresh_hash,
        family=family,
        expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
    )
    return Session(account, access, expires, refresh)


def registration_limits(settings: Settings) -> tuple[list[Limit], list[Limit]]:
    per_ip = [
        Limit("register-ip-hour", settings.register_ip_limit_per_hour, timedelta(hours=1)),
        Limit("register-ip-day", settings.register_ip_limit_per_day, timedelta(days=1)),
    ]
    per_phone = [Limit("register-phone-day", settings.register_phone_limit_per_day, timedelta(days=1))]
    return per_ip, per_phone


async def register(context: Context, phone: str, password: str, name: str) -> Session:
    phone = clean_phone(phone)
    clean_password(password)
    name = person_name(name)
    per_ip, per_phone = registration_limits(context.settings)
    await rate_limits.take(
        [(limit, context.client_ip) for limit in per_ip] + [(limit, phone) for limit in per_phone]
    )
    password_hash = await hash_password_off_loop(password)
    try:
        async with in_transaction():
            account = await Account.create(
                phone=phone, password_hash=password_hash, name=name, role=Role.PATIENT
            )
            return await _open_session(context, account)
    except IntegrityError:
        raise PhoneTaken() from None


def _throttle_key(phone: str, client_ip: str) -> str:
    return hashlib.sha256(f"login|{phone}|{client_ip}".encode()).hexdigest()


def _address_key(client_ip: str) -> str:
    return hashlib.sha256(f"login-address|{client_ip}".encode()).hexdigest()


async def login(context: Context, phone: str, password: str) -> Session:
    if phone_problem(phone):
        # No account has a malformed phone; refused before it reaches a throttle key or a column.
        raise InvalidCredentials()
    phone = normalise_phone(phone)
    settings = context.settings
    throttle_key = _throttle_key(phone, context.client_ip)
    address_key = _address_key(context.client_ip)
    window = timedelta(minutes=settings.login_window_minutes)
    await claim_login_attempt(throttle_key, settings.login_max_attempts, window)
    await claim_login_attempt(address_key, settings.login_ip_max_failures, window)
    account = await Account.get_or_none(phone=phone)
    stored_hash = account.password_hash if account else None
    # An unknown phone is verified against a dummy hash, so both answers take as long.
    if not await asyncio.to_thread(verify_password, stored_hash, password) or account is None:
        raise InvalidCredentials()
    if account.disabled:
        raise AccountDisabled()
    await clear_login_attempts(throttle_key)
    await give_back_login_attempt(address_key)
    if stored_hash is not None and needs_rehash(stored_hash):
        # Upgrade to the current parameters while the password is at hand; a concurrent password
        # change wins (conditional on the old hash).
        await Account.filter(id=account.id, password_hash=stored_hash).update(
            password_hash=await hash_password_off_loop(password)
        )
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
            revoked = await revoke_family(
                row.account_id,
                row.family,
                context.settings.access_token_lifetime,
            )
            reused = True
        else:
            reused = False
            account = await Account.get(id=row.account_id)
    if reused:
        remember(revoked)  # the family's access tokens too, at once here (elsewhere at a refresh)
        raise InvalidRefreshToken("this refresh token was already used; every session of it is revoked")
    if account.disabled:
        raise AccountDisabled()
    return await _open_session(context, account, family=row.family)


async def logout(context: Context, token: str | None) -> bool:
    """Ends the login of `token` and the access token of this request, or every login and access
    token of the caller when no token is given (docs/decisions/101)."""
    viewer = context.viewer
    account_id = viewer.account_id
    assert account_id is not None  # the field requires an authenticated account
    async with in_transaction():
        if token:
            row = await RefreshToken.get_or_none(token_hash=hash_refresh_token(token), account_id=account_id)
            if row is None:
                return False
            await RefreshToken.filter(family=row.family, revoked_at__isnull=True).update(revoked_at=utcnow())
            if not viewer.token_id or viewer.expires_at is None:
                return True
            revoked = await revoke_token(account_id, viewer.token_id, viewer.expires_at)
        else:
            revoked = await revoke_all_sessions(account_id, context.settings.access_token_lifetime)
    remember(revoked)  # at once here; other processes at their next refresh
    return True


async def me(context: Context) -> Account:
    account = await Account.get_or_none(id=context.viewer.account_id)
    if account is None:
        raise NotFound("account not found")
    return account


def _clean_id_number(id_kind: IdKind, id_number: str) -> str:
    if id_kind is IdKind.RESIDENT_ID:
        problem = resident_id_problem(id_number)
        cleaned = normalise_resident_id(id_number)
    else:
        problem = campus_number_problem(id_number)
        cleaned = normalise_campus_number(id_number)
    if problem:
        raise InvalidInput("idNumber", problem)
    return cleaned


async def add_patient(
    context: Context, name: str, id_number: str, phone: str, relation: Relation, id_kind: IdKind
) -> Patient:
    account_id = context.viewer.account_id
    name = person_name(name)
    id_number = _clean_id_number(id_kind, id_number)
    phone = clean_phone(phone)
    lookup = id_number_lookup_hash(id_kind, id_number)
    limit = context.settings.max_patients_per_account
    try:
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
            patient = await Patient.get_or_none(account_id=account_id, id_number_hash=lookup)
            if patient is not None:
                # Re-adding a removed person brings the row back (bookings still point at it).
                before = audit.snapshot(patient, PATIENT_AUDIT_FIELDS)
                patient.archived_at = None
                if patient.phone != phone:
                    patient.phone_verified_at = None  # a new number proves itself again
                patient.name, patient.phone, patient.relation = name, phone, relation
                await patient.save()
                action = "patient.restore"
            else:
                sealed = seal_id_number(id_kind, id_number)
                before = None
                patient = await Patient.create(
                    account_id=account_id,
                    name=name,
                    relation=relation,
                    id_kind=id_kind,
                    id_number_cipher=sealed.cipher,
                    id_number_hash=sealed.lookup_hash,
                    id_number_masked=sealed.masked,
                    phone=phone,
                )
                action = "patient.add"
            await audit.record(
                account_id,
                action,
                "patient",
                patient.id,
                before=before,
                after=audit.snapshot(patient, PATIENT_AUDIT_FIELDS),
            )
            return patient
    except IntegrityError:
        raise DuplicatePatient() from None


async def my_patients(context: Context) -> list[Patient]:
    return await Patient.filter(account_id=context.viewer.account_id, archived_at__isnull=True).order_by("id")


async def remove_patient(context: Context, patient_id: int) -> Patient:
    async with in_transaction():
        patient = await Patient.get_or_none(
            id=patient_id, account_id=context.viewer.account_id, archived_at__isnull=True
        )
        if patient is None:
            raise NotFound("patient not found")
        if await Booking.filter(patient_id=patient.id, status__in=list(ACTIVE_BOOKING)).exists() or (
            await WaitlistEntry.filter(patient_id=patient.id, status__in=list(ACTIVE_ENTRY)).exists()
        ):
            raise PatientInUse()
        before = audit.snapshot(patient, PATIENT_AUDIT_FIELDS)
        patient.archived_at = utcnow()
        await patient.save(update_fields=["archived_at"])
        await audit.record(
            context.viewer.account_id,
            "patient.remove",
            "patient",
            patient.id,
            before=before,
            after=audit.snapshot(patient, PATIENT_AUDIT_FIELDS),
        )
    return patient


async def reveal_patient_id_number(context: Context, patient_id: int, reason: str) -> str:
    """Admins only (enforced on the field); every reveal is audit-logged, the value never is."""
    reason = clean_text(reason, field="reason", max_length=200)
    patient = await Patient.get_or_none(id=patient_id)
    if patient is None:
        raise NotFound("patient not found")
    await audit.record(
        context.viewer.account_id, "patient.reveal_id_number", "patient", patient.id, reason=reason
    )
    return reveal_id_number(patient)


# -- what clinical staff see of a patient (issue 16.6): read on demand, each read audited


@dataclass(frozen=True)
class ClinicalFacts:
    sex: str | None
    age: int | None
    past_visits: list[Booking]


async def clinical_facts(context: Context, patient_id: int) -> ClinicalFacts:
    """Sex and age from the ID number and the person's completed visits at this hospital (under any
    account): for doctors and administrators, audited."""
    patient = await Patient.get(id=patient_id)
    sex = age = None
    if patient.id_kind is IdKind.RESIDENT_ID:
        number = reveal_id_number(patient)
        sex, born = sex_of(number), birth_date(number)
        age = age_on(born, datetime.now(context.settings.tz).date()) if born else None
    same_person = await Patient.filter(id_number_hash=patient.id_number_hash).values_list("id", flat=True)
    visits = (
        await Booking.filter(patient_id__in=list(same_person), status=BookingStatus.COMPLETED)
        .order_by("-slot_starts_at")
        .limit(PAST_VISITS_SHOWN)
    )
    async with in_transaction():
        await audit.record(context.viewer.account_id, "patient.clinical_view", "patient", patient.id)
    return ClinicalFacts(sex, age, visits)
