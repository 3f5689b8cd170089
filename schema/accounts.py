from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models import accounts as account_models
from models.identity import mask_phone
from resolvers import accounts as use_cases
from resolvers.accounts import (
    AccountDisabled,
    DuplicatePatient,
    InvalidCredentials,
    InvalidRefreshToken,
    PatientLimitReached,
    PhoneTaken,
)
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.permissions import IsAdmin, IsAuthenticated, IsPatient

Role = strawberry.enum(account_models.Role, name="Role")
Relation = strawberry.enum(account_models.Relation, name="Relation")
IdKind = strawberry.enum(account_models.IdKind, name="IdKind")


@strawberry.type
class Account:
    id: strawberry.ID
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    _phone: strawberry.Private[str]

    @strawberry.field(description="Masked, e.g. 138****0000.")
    def phone(self) -> str:
        return mask_phone(self._phone)

    @classmethod
    def from_model(cls, row: account_models.Account) -> Account:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            role=row.role,
            disabled=row.disabled,
            created_at=row.created_at,
            _phone=row.phone,
        )


@strawberry.type(description="A 就诊人: the account holder or a family member.")
class Patient:
    id: strawberry.ID
    name: str
    relation: Relation
    id_kind: IdKind
    id_number: str = strawberry.field(description="Masked, e.g. 110************1234.")
    _phone: strawberry.Private[str]

    @strawberry.field(description="Masked, e.g. 138****0000.")
    def phone(self) -> str:
        return mask_phone(self._phone)

    @classmethod
    def from_model(cls, row: account_models.Patient) -> Patient:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            relation=row.relation,
            id_kind=row.id_kind,
            id_number=row.id_number_masked,
            _phone=row.phone,
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


AuthResult = Annotated[
    AuthPayload | InvalidCredentialsError | AccountDisabledError | PhoneTakenError | InvalidInputError,
    strawberry.union("AuthResult"),
]
RefreshResult = Annotated[
    AuthPayload | InvalidRefreshTokenError | AccountDisabledError, strawberry.union("RefreshResult")
]
AddPatientResult = Annotated[
    Patient | InvalidInputError | PatientLimitReachedError | DuplicatePatientError,
    strawberry.union("AddPatientResult"),
]
RemovePatientResult = Annotated[Patient | NotFoundError, strawberry.union("RemovePatientResult")]


@strawberry.type
class RevealedIdNumber:
    patient_id: strawberry.ID
    id_number: str


RevealIdNumberResult = Annotated[
    RevealedIdNumber | NotFoundError | InvalidInputError, strawberry.union("RevealIdNumberResult")
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


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def me(self, info: Info) -> Account:
        return Account.from_model(await use_cases.me(info.context))

    @strawberry.field(permission_classes=[IsPatient])
    async def my_patients(self, info: Info) -> list[Patient]:
        return [Patient.from_model(p) for p in await use_cases.my_patients(info.context)]


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register(self, info: Info, input: RegisterInput) -> AuthResult:
        session = await use_cases.register(info.context, input.phone, input.password, input.name)
        return AuthPayload.from_session(session)

    @strawberry.mutation
    async def login(self, info: Info, phone: str, password: str) -> AuthResult:
        return AuthPayload.from_session(await use_cases.login(info.context, phone, password))

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
        return Patient.from_model(await use_cases.remove_patient(info.context, int(patient_id)))

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="The full ID number, for an explicit administrative need; audit-logged with the reason.",
    )
    async def reveal_patient_id_number(
        self, info: Info, patient_id: strawberry.ID, reason: str
    ) -> RevealIdNumberResult:
        value = await use_cases.reveal_patient_id_number(info.context, int(patient_id), reason)
        return RevealedIdNumber(patient_id=patient_id, id_number=value)
