from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.types.info import Info

from models import accounts as account_models
from models.accounts import (
    AccountDisabled,
    DuplicatePatient,
    InvalidCredentials,
    InvalidRefreshToken,
    LoginThrottled,
    PatientInUse,
    PatientLimitReached,
    PhoneTaken,
)
from models.audit import AuditEntry as AuditEntryRow
from models.identity import mask_phone
from models.wechat import WechatCodeRejected, WechatPhoneRequired, WechatUnavailable
from resolvers import accounts as use_cases
from resolvers import admin_accounts, pre_consultation, wechat
from resolvers.context import Context
from resolvers.loaders import AccountByIdLoader, DoctorByAccountLoader, PatientsByAccountLoader
from schema.errors import Error, InvalidInputError, NotAllowedError, NotFoundError, RateLimitedError, maps
from schema.ids import parse_id
from schema.list_bounds import at_most, page_size
from schema.pagination import (
    DEFAULT_PAGE_SIZE,
    Connection,
    decode_cursor,
)
from schema.permissions import IsAdmin, IsAuthenticated, IsPatient, IsStaff
from schema.pre_consultation import PreConsultation

if TYPE_CHECKING:
    from schema.catalogue import Doctor

# The domain enums are the GraphQL enums (strawberry.enum registers the class itself).
Role = account_models.Role
Relation = account_models.Relation
IdKind = account_models.IdKind
strawberry.enum(Role, name="Role")
strawberry.enum(Relation, name="Relation")
strawberry.enum(IdKind, name="IdKind")


MOST_PATIENTS_PER_ACCOUNT = 50  # the ceiling of the setting max_patients_per_account (le=50)


class IsOwnerOrAdmin(BasePermission):
    """Personal fields of an account: its holder and administrators only."""

    message = "only the account holder or an administrator may see this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **_kwargs: Any) -> bool:
        viewer = info.context.viewer
        return bool(viewer.is_admin or (viewer.account_id is not None and source._id == viewer.account_id))


@strawberry.type(description="A 就诊人: the account holder or a family member.")
class Patient:
    id: strawberry.ID
    name: str
    relation: Relation
    id_kind: IdKind
    id_number: str = strawberry.field(description="Masked, e.g. 110************1234.")
    phone_verified: bool = strawberry.field(
        description="Booking texts go to this phone only once verified (verifyPatientPhone); "
        "until then they go to the account holder's phone."
    )
    _phone: strawberry.Private[str]
    # The booking through which this patient was reached (Booking.patient): the clinical view then
    # carries that booking's pre-consultation summary.
    _booking_id: strawberry.Private[int | None]

    @strawberry.field(description="Masked, e.g. 138****0000.")
    def phone(self) -> str:
        return mask_phone(self._phone)

    @strawberry.field(
        permission_classes=[IsStaff],
        description="For doctors and administrators: sex and age from the ID number and the completed "
        "visits at this hospital, newest first. Each read is audited.",
    )
    async def clinical(self, info: Info) -> ClinicalFacts:
        facts = await use_cases.clinical_facts(info.context, int(self.id))
        return ClinicalFacts(
            sex=facts.sex,
            age=facts.age,
            past_visits=[
                PastVisit(
                    booking_id=strawberry.ID(str(b.id)),
                    visit_date=b.visit_date,
                    department_id=strawberry.ID(str(b.department_id)),
                )
                for b in facts.past_visits
            ],
            _booking_id=self._booking_id,
        )

    @classmethod
    def from_model(cls, row: account_models.Patient, booking_id: int | None = None) -> Patient:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            relation=row.relation,
            id_kind=row.id_kind,
            id_number=row.id_number_masked,
            phone_verified=row.phone_verified_at is not None,
            _phone=row.phone,
            _booking_id=booking_id,
        )


@strawberry.type
class PastVisit:
    booking_id: strawberry.ID
    visit_date: date
    department_id: strawberry.ID


@strawberry.type
class ClinicalFacts:
    sex: str | None = strawberry.field(description="male or female, from a resident ID; else null.")
    age: int | None
    past_visits: list[PastVisit] = strawberry.field(metadata=at_most(use_cases.PAST_VISITS_SHOWN))
    _booking_id: strawberry.Private[int | None]

    @strawberry.field(
        description="The pre-visit summary (AI预问诊) of the booking this patient was reached through, once "
        "it exists: for that session's doctor and administrators; each read is audited."
    )
    async def pre_consultation(self, info: Info) -> PreConsultation | None:
        row = (
            await pre_consultation.summary_in_patient_view(info.context, self._booking_id)
            if self._booking_id
            else None
        )
        return PreConsultation.from_model(row) if row else None


@strawberry.type
class Account:
    id: strawberry.ID
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    staff_or_student: bool = strawberry.field(
        description="Hospital staff or a student: may book a registration type's staff share."
    )
    _id: strawberry.Private[int]
    _phone: strawberry.Private[str]
    _disabled_reason: strawberry.Private[str | None]

    @strawberry.field(description="Masked, e.g. 138****0000.")
    def phone(self) -> str:
        return mask_phone(self._phone)

    @strawberry.field(permission_classes=[IsOwnerOrAdmin])
    def disabled_reason(self) -> str | None:
        return self._disabled_reason

    @strawberry.field(
        permission_classes=[IsOwnerOrAdmin],
        description="The 就诊人 this account manages.",
        metadata=at_most(MOST_PATIENTS_PER_ACCOUNT),
    )
    async def patients(self, info: Info) -> list[Patient]:
        rows = await info.context.loader(PatientsByAccountLoader).load(self._id)
        return [Patient.from_model(row) for row in rows if row.archived_at is None]

    @strawberry.field(description="The doctor profile of a doctor's login.")
    async def doctor(self, info: Info) -> Annotated[Doctor, strawberry.lazy("schema.catalogue")] | None:
        # Account and Doctor refer to each other; the type is imported when the field resolves (decision 200).
        from schema.catalogue import Doctor  # noqa: PLC0415

        row = await info.context.loader(DoctorByAccountLoader).load(self._id)
        return Doctor.from_model(row) if row else None

    @classmethod
    def from_model(cls, row: account_models.Account) -> Account:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            role=row.role,
            disabled=row.disabled,
            created_at=row.created_at,
            staff_or_student=row.staff_or_student,
            _id=row.id,
            _phone=row.phone,
            _disabled_reason=row.disabled_reason,
        )


@strawberry.type
class AuthPayload:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    account: Account

    @classmethod
    def from_session(cls, session: use_cases.Session) -> AuthPayload:
        return cls(
            access_token=session.access_token,
            access_token_expires_at=session.access_token_expires_at,
            refresh_token=session.refresh_token,
            account=Account.from_model(session.account),
        )


@strawberry.type(description="Who did what, when, with the state before and after.")
class AuditEntry:
    id: strawberry.ID
    action: str
    target_type: str
    target_id: str
    before: JSON | None
    after: JSON | None
    reason: str
    at: datetime
    _actor_id: strawberry.Private[int | None]

    @strawberry.field
    async def actor(self, info: Info) -> Account | None:
        if self._actor_id is None:
            return None
        row = await info.context.loader(AccountByIdLoader).load(self._actor_id)
        return Account.from_model(row) if row else None

    @classmethod
    def from_model(cls, row: AuditEntryRow) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(row.id)),
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            before=row.before,  # type: ignore[arg-type]
            after=row.after,  # type: ignore[arg-type]
            reason=row.reason,
            at=row.at,
            _actor_id=row.actor_id,
        )


@maps(InvalidCredentials)
@strawberry.type
class InvalidCredentialsError(Error):
    pass


@maps(AccountDisabled)
@strawberry.type
class AccountDisabledError(Error):
    pass


@maps(PhoneTaken)
@strawberry.type
class PhoneTakenError(Error):
    pass


@maps(PatientInUse)
@strawberry.type(name="PatientInUse")
class PatientInUseError(Error):
    pass


@maps(InvalidRefreshToken)
@strawberry.type
class InvalidRefreshTokenError(Error):
    pass


@maps(PatientLimitReached)
@strawberry.type
class PatientLimitReachedError(Error):
    pass


@maps(DuplicatePatient)
@strawberry.type
class DuplicatePatientError(Error):
    pass


@maps(LoginThrottled)
@strawberry.type(description="Too many password attempts for this phone from this address.")
class LoginThrottledError(Error):
    retry_after_seconds: int


@maps(WechatPhoneRequired)
@strawberry.type(description="No account is linked to this WeChat user yet: ask for the phone number.")
class WechatPhoneRequiredError(Error):
    pass


@maps(WechatCodeRejected)
@strawberry.type(description="The WeChat code is unknown or already used: call wx.login() again.")
class WechatCodeRejectedError(Error):
    pass


@maps(WechatUnavailable)
@strawberry.type(description="WeChat is busy, rate-limited or not configured: try again shortly.")
class WechatUnavailableError(Error):
    pass


AuthResult = Annotated[
    AuthPayload
    | InvalidCredentialsError
    | AccountDisabledError
    | PhoneTakenError
    | InvalidInputError
    | LoginThrottledError
    | WechatPhoneRequiredError
    | WechatCodeRejectedError
    | WechatUnavailableError
    | RateLimitedError,
    strawberry.union("AuthResult"),
]
BindPhoneResult = Annotated[
    Account | PhoneTakenError | InvalidInputError | WechatCodeRejectedError | WechatUnavailableError,
    strawberry.union("BindPhoneResult"),
]
RefreshResult = Annotated[
    AuthPayload | InvalidRefreshTokenError | AccountDisabledError, strawberry.union("RefreshResult")
]
AddPatientResult = Annotated[
    Patient | InvalidInputError | PatientLimitReachedError | DuplicatePatientError,
    strawberry.union("AddPatientResult"),
]
RemovePatientResult = Annotated[
    Patient | NotFoundError | InvalidInputError | PatientInUseError, strawberry.union("RemovePatientResult")
]
AccountResult = Annotated[
    Account | NotFoundError | InvalidInputError | NotAllowedError, strawberry.union("AccountResult")
]


@strawberry.type
class RevealedIdNumber:
    patient_id: strawberry.ID
    id_number: str


@strawberry.type
class RevealedPhone:
    account_id: strawberry.ID
    phone: str


RevealIdNumberResult = Annotated[
    RevealedIdNumber | NotFoundError | InvalidInputError, strawberry.union("RevealIdNumberResult")
]
RevealPhoneResult = Annotated[
    RevealedPhone | NotFoundError | InvalidInputError, strawberry.union("RevealPhoneResult")
]


@strawberry.input
class RegisterInput:
    phone: str
    password: str
    name: str


@strawberry.input
class AddPatientInput:
    name: str
    id_number: str
    phone: str
    relation: Relation
    id_kind: IdKind = account_models.IdKind.RESIDENT_ID


def _context(info: Info) -> Context:
    context: Context = info.context
    return context


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def me(self, info: Info) -> Account:
        return Account.from_model(await use_cases.me(info.context))

    @strawberry.field(permission_classes=[IsPatient], metadata=at_most(MOST_PATIENTS_PER_ACCOUNT))
    async def my_patients(self, info: Info) -> list[Patient]:
        return [Patient.from_model(p) for p in await use_cases.my_patients(info.context)]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Newest first; `phone` matches exactly.",
        metadata=page_size(),
    )
    async def accounts(
        self,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        role: Role | None = None,
        phone: str | None = None,
        disabled: bool | None = None,
    ) -> Connection[Account]:
        page = await admin_accounts.list_accounts(
            first, decode_cursor("account", after), role, phone, disabled
        )
        return Connection.of(page, "account", Account.from_model)

    @strawberry.field(permission_classes=[IsAdmin], description="Newest first.", metadata=page_size())
    async def audit_entries(
        self,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        action: str | None = None,
        target_type: str | None = None,
    ) -> Connection[AuditEntry]:
        page = await admin_accounts.audit_entries(first, decode_cursor("audit", after), action, target_type)
        return Connection.of(page, "audit", AuditEntry.from_model)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register(self, info: Info, input: RegisterInput) -> AuthResult:
        session = await use_cases.register(info.context, input.phone, input.password, input.name)
        return AuthPayload.from_session(session)

    @strawberry.mutation
    async def login(self, info: Info, phone: str, password: str) -> AuthResult:
        return AuthPayload.from_session(await use_cases.login(info.context, phone, password))

    @strawberry.mutation(
        description="Mini-program login: `code` from wx.login(); `phoneCode` from the getPhoneNumber "
        "button, needed only while no account is linked to this WeChat user (WechatPhoneRequiredError)."
    )
    async def login_with_wechat(self, info: Info, code: str, phone_code: str | None = None) -> AuthResult:
        return AuthPayload.from_session(await wechat.login_with_wechat(info.context, code, phone_code))

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The account's phone becomes the number the user shares through WeChat's "
        "getPhoneNumber button (`phoneCode`); a number of another account is PhoneTakenError.",
    )
    async def bind_wechat_phone(self, info: Info, phone_code: str) -> BindPhoneResult:
        return Account.from_model(await wechat.bind_wechat_phone(info.context, phone_code))

    @strawberry.mutation
    async def refresh_token(self, info: Info, token: str) -> RefreshResult:
        return AuthPayload.from_session(await use_cases.refresh(info.context, token))

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Revokes the login of `refreshToken`, or every login of the account when omitted.",
    )
    async def logout(self, info: Info, refresh_token: str | None = None) -> bool:
        return await use_cases.logout(info.context, refresh_token)

    @strawberry.mutation(permission_classes=[IsPatient])
    async def add_patient(self, info: Info, input: AddPatientInput) -> AddPatientResult:
        patient = await use_cases.add_patient(
            info.context, input.name, input.id_number, input.phone, input.relation, input.id_kind
        )
        return Patient.from_model(patient)

    @strawberry.mutation(permission_classes=[IsPatient])
    async def remove_patient(self, info: Info, patient_id: strawberry.ID) -> RemovePatientResult:
        patient = await use_cases.remove_patient(info.context, parse_id(patient_id, "patientId"))
        return Patient.from_model(patient)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="The full ID number, for an explicit administrative need; audit-logged with the reason.",
    )
    async def reveal_patient_id_number(
        self, info: Info, patient_id: strawberry.ID, reason: str
    ) -> RevealIdNumberResult:
        value = await use_cases.reveal_patient_id_number(
            info.context, parse_id(patient_id, "patientId"), reason
        )
        return RevealedIdNumber(patient_id=patient_id, id_number=value)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="The full phone number of an account; audit-logged with the reason.",
    )
    async def reveal_account_phone(
        self, info: Info, account_id: strawberry.ID, reason: str
    ) -> RevealPhoneResult:
        value = await admin_accounts.reveal_account_phone(
            info.context, parse_id(account_id, "accountId"), reason
        )
        return RevealedPhone(account_id=account_id, phone=value)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Also ends every login of the account.")
    async def disable_account(self, info: Info, account_id: strawberry.ID, reason: str) -> AccountResult:
        row = await admin_accounts.disable_account(info.context, parse_id(account_id, "accountId"), reason)
        return Account.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def enable_account(self, info: Info, account_id: strawberry.ID) -> AccountResult:
        row = await admin_accounts.enable_account(info.context, parse_id(account_id, "accountId"))
        return Account.from_model(row)
