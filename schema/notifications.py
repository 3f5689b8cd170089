"""GraphQL surface of notifications: the inbox, its subscription, login codes, follow-up reminders."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.types.info import Info

from models import notifications as notification_models
from models.identity import mask_phone
from models.verification_codes import InvalidCode, TooManyCodeAttempts
from resolvers import notifications as use_cases
from resolvers.notifications import CODE_FIELDS, OneCodeRequestPerOperation
from schema.accounts import AccountDisabledError, AuthPayload, Patient
from schema.errors import Error, InvalidInputError, NotAllowedError, NotFoundError, RateLimitedError, maps
from schema.ids import BIGINT_MAX, parse_id, parse_ids
from schema.list_bounds import page_size
from schema.pagination import (
    DEFAULT_PAGE_SIZE,
    Connection,
    decode_cursor,
)
from schema.permissions import IsAuthenticated, IsDoctor, IsPatient


@strawberry.type
class Notification:
    id: strawberry.ID
    event: str = strawberry.field(description='The event, e.g. "booking.confirmed".')
    title: str
    body: str
    booking_id: strawberry.ID | None
    read: bool
    created_at: dt.datetime

    @classmethod
    def from_model(cls, row: notification_models.Notification) -> Notification:
        return cls(
            id=strawberry.ID(str(row.id)),
            event=row.event,
            title=row.title,
            body=row.body,
            booking_id=strawberry.ID(str(row.booking_id)) if row.booking_id is not None else None,
            read=row.read_at is not None,
            created_at=row.created_at,
        )


@strawberry.type
class LoginCodeSent:
    phone: str = strawberry.field(description="Masked, e.g. 138****0000.")
    expires_at: dt.datetime


@strawberry.type
class FollowUpReminder:
    booking_id: strawberry.ID
    date: dt.date
    note: str
    sends_at: dt.datetime


@maps(InvalidCode)
@strawberry.type
class InvalidCodeError(Error):
    pass


@maps(TooManyCodeAttempts)
@strawberry.type
class TooManyCodeAttemptsError(Error):
    pass


@maps(OneCodeRequestPerOperation)
@strawberry.type
class OneCodeRequestPerOperationError(Error):
    pass


SendLoginCodeResult = Annotated[
    LoginCodeSent | RateLimitedError | InvalidInputError | OneCodeRequestPerOperationError,
    strawberry.union("SendLoginCodeResult"),
]
LoginWithCodeResult = Annotated[
    AuthPayload
    | InvalidCodeError
    | TooManyCodeAttemptsError
    | AccountDisabledError
    | InvalidInputError
    | OneCodeRequestPerOperationError,
    strawberry.union("LoginWithCodeResult"),
]
SendPatientPhoneCodeResult = Annotated[
    LoginCodeSent | RateLimitedError | NotFoundError | InvalidInputError | OneCodeRequestPerOperationError,
    strawberry.union("SendPatientPhoneCodeResult"),
]
VerifyPatientPhoneResult = Annotated[
    Patient
    | InvalidCodeError
    | TooManyCodeAttemptsError
    | NotFoundError
    | InvalidInputError
    | OneCodeRequestPerOperationError,
    strawberry.union("VerifyPatientPhoneResult"),
]
SetFollowUpReminderResult = Annotated[
    FollowUpReminder | NotFoundError | NotAllowedError | InvalidInputError,
    strawberry.union("SetFollowUpReminderResult"),
]


def _code_fields(selection_set: SelectionSetNode | None, info: Info, seen: set[str]) -> int:
    if selection_set is None:
        return 0
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += selection.name.value in CODE_FIELDS
        elif isinstance(selection, InlineFragmentNode):
            count += _code_fields(selection.selection_set, info, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = info._raw_info.fragments.get(selection.name.value)  # strawberry exposes no fragments
            count += _code_fields(fragment.selection_set if fragment else None, info, seen)
    return count


def refuse_code_floods(info: Info) -> None:
    """One sendLoginCode or loginWithCode per operation: aliases would multiply guesses and texts."""
    if _code_fields(info.operation.selection_set, info, set()) > 1:
        raise OneCodeRequestPerOperation()


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The account's inbox, newest first.",
        metadata=page_size(),
    )
    async def notifications(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None, unread_only: bool = False
    ) -> Connection[Notification]:
        page = await use_cases.inbox(info.context, first, decode_cursor("notification", after), unread_only)
        return Connection.of(page, "notification", Notification.from_model)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def unread_notification_count(self, info: Info) -> int:
        return await use_cases.unread_count(info.context)


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated], description="Returns how many were unread.")
    async def mark_notifications_read(self, info: Info, ids: list[strawberry.ID]) -> int:
        return await use_cases.mark_read(info.context, parse_ids(ids, "ids", maximum=BIGINT_MAX))

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="Returns how many were unread.")
    async def mark_all_notifications_read(self, info: Info) -> int:
        return await use_cases.mark_read(info.context, None)

    @strawberry.mutation(description="Texts a 6-digit code valid for 5 minutes; one per request.")
    async def send_login_code(self, info: Info, phone: str) -> SendLoginCodeResult:
        refuse_code_floods(info)
        sent = await use_cases.send_login_code(info.context, phone)
        return LoginCodeSent(phone=mask_phone(sent.phone), expires_at=sent.expires_at)

    @strawberry.mutation(description="Logs in with a texted code; the first login of a phone registers it.")
    async def login_with_code(self, info: Info, phone: str, code: str) -> LoginWithCodeResult:
        refuse_code_floods(info)
        return AuthPayload.from_session(await use_cases.login_with_code(info.context, phone, code))

    @strawberry.mutation(
        permission_classes=[IsPatient], description="Texts a code to a 就诊人's phone to verify it."
    )
    async def send_patient_phone_code(
        self, info: Info, patient_id: strawberry.ID
    ) -> SendPatientPhoneCodeResult:
        refuse_code_floods(info)
        sent = await use_cases.send_patient_phone_code(info.context, parse_id(patient_id, "patientId"))
        return LoginCodeSent(phone=mask_phone(sent.phone), expires_at=sent.expires_at)

    @strawberry.mutation(
        permission_classes=[IsPatient],
        description="The code texted by sendPatientPhoneCode: from now on booking texts go to that phone.",
    )
    async def verify_patient_phone(
        self, info: Info, patient_id: strawberry.ID, code: str
    ) -> VerifyPatientPhoneResult:
        refuse_code_floods(info)
        patient = await use_cases.verify_patient_phone(info.context, parse_id(patient_id, "patientId"), code)
        return Patient.from_model(patient)

    @strawberry.mutation(permission_classes=[IsDoctor], description="A 复诊 reminder texted on `date`.")
    async def set_follow_up_reminder(
        self, info: Info, booking_id: strawberry.ID, date: dt.date, note: str = ""
    ) -> SetFollowUpReminderResult:
        reminder = await use_cases.set_follow_up_reminder(
            info.context, parse_id(booking_id, "bookingId"), date, note
        )
        return FollowUpReminder(
            booking_id=booking_id, date=reminder.date, note=reminder.note, sends_at=reminder.sends_at
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(permission_classes=[IsAuthenticated], description="New in-app notifications.")
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        async for row in use_cases.notification_stream(info.context):
            yield Notification.from_model(row)
