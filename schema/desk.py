"""The registration desk (挂号窗口) and staff tools: staff accounts and roles, walk-in registration
(现场挂号), administrators' partial refunds."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models.accounts import Role
from models.payments import RefundExceedsPaid
from resolvers import admin_accounts
from resolvers import desk as use_cases
from schema.accounts import Account, AccountResult, PhoneTakenError
from schema.booking import Booking, PlacementRefused
from schema.errors import Error, InvalidInputError, NotFoundError, maps
from schema.ids import parse_id, parse_ids, parse_optional_id
from schema.permissions import IsAdmin, IsRegistrar

CreateStaffAccountResult = Annotated[
    Account | InvalidInputError | PhoneTakenError, strawberry.union("CreateStaffAccountResult")
]
RegisterWalkInResult = Annotated[
    Booking | NotFoundError | PlacementRefused, strawberry.union("RegisterWalkInResult")
]


@maps(RefundExceedsPaid)
@strawberry.type(name="RefundExceedsPaid")
class RefundExceedsPaidError(Error):
    pass


RefundBookingResult = Annotated[
    Booking | NotFoundError | InvalidInputError | RefundExceedsPaidError,
    strawberry.union("RefundBookingResult"),
]


@strawberry.input(
    description="Grant or remove a staff role; PATIENT removes it. Never the last administrator."
)
class SetAccountRoleInput:
    account_id: strawberry.ID
    role: Role
    department_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    reason: str


@strawberry.input(description="A partial (or full) refund of what was paid online, in fen, with a reason.")
class RefundBookingInput:
    booking_id: strawberry.ID
    amount: int
    reason: str


@strawberry.input
class CreateStaffAccountInput:
    phone: str
    password: str
    name: str
    role: Role = strawberry.field(description="REGISTRAR or ADMIN; doctors are made with createDoctor.")
    department_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="The departments a registrar serves."
    )


@strawberry.input(
    description="现场挂号: an existing 就诊人 by patientId, or a new one from the real-name fields."
)
class RegisterWalkInInput:
    schedule_id: strawberry.ID
    patient_id: strawberry.ID | None = None
    name: str | None = None
    id_number: str | None = strawberry.field(
        default=None, description="Resident ID, typed or read from the card."
    )
    phone: str | None = None
    payment_method: str = strawberry.field(
        description="How the fee was paid at the window: 现金, 银行卡, 医保卡 …"
    )
    idempotency_key: str = strawberry.field(description="8-80 characters; a retried press reuses it.")


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_staff_account(
        self, info: Info, input: CreateStaffAccountInput
    ) -> CreateStaffAccountResult:
        row = await use_cases.create_staff_account(
            info.context,
            input.phone,
            input.password,
            input.name,
            input.role,
            parse_ids(input.department_ids, "departmentIds"),
        )
        return Account.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsRegistrar],
        description="Today's sessions until they end; the desk share first, then online seats; paid at once.",
    )
    async def register_walk_in(self, info: Info, input: RegisterWalkInInput) -> RegisterWalkInResult:
        row = await use_cases.register_walk_in_at_desk(
            info.context,
            parse_id(input.schedule_id, "scheduleId"),
            parse_optional_id(input.patient_id, "patientId"),
            (input.name, input.id_number, input.phone),
            input.payment_method,
            input.idempotency_key,
        )
        return Booking.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Audited; the account's logins end.")
    async def set_account_role(self, info: Info, input: SetAccountRoleInput) -> AccountResult:
        departments = parse_ids(input.department_ids, "departmentIds")
        row = await admin_accounts.set_account_role(
            info.context, parse_id(input.account_id, "accountId"), input.role, departments, input.reason
        )
        return Account.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Marks an account as staff or student (may book the staff share), or not; audited.",
    )
    async def mark_staff_or_student(
        self, info: Info, account_id: strawberry.ID, marked: bool, reason: str
    ) -> AccountResult:
        row = await admin_accounts.mark_staff_or_student(
            info.context, parse_id(account_id, "accountId"), marked, reason
        )
        return Account.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Through the payment module's refund path."
    )
    async def refund_booking(self, info: Info, input: RefundBookingInput) -> RefundBookingResult:
        row = await use_cases.refund_booking(
            info.context, parse_id(input.booking_id, "bookingId"), input.amount, input.reason
        )
        return Booking.from_model(row)
