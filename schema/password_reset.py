"""GraphQL surface of password reset: by an administrator, by the holder (forgot password), and the
code that completes either."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.types.info import Info

from models.identity import mask_phone
from resolvers import password_reset as use_cases
from schema.errors import InvalidInputError, NotFoundError, RateLimitedError
from schema.ids import parse_id
from schema.notifications import (
    InvalidCodeError,
    OneCodeRequestPerOperationError,
    TooManyCodeAttemptsError,
    refuse_code_floods,
)
from schema.permissions import IsAdmin


@strawberry.type(
    description="A reset code was texted (or, for a phone without an account, nothing was: "
    "the answer is the same)."
)
class PasswordResetCodeSent:
    phone: str = strawberry.field(description="Masked, e.g. 138****0000.")
    expires_at: dt.datetime


@strawberry.type(description="The password is changed; every login of the account has ended.")
class PasswordResetCompleted:
    phone: str = strawberry.field(description="Masked, e.g. 138****0000.")


SendPasswordResetResult = Annotated[
    PasswordResetCodeSent
    | RateLimitedError
    | NotFoundError
    | InvalidInputError
    | OneCodeRequestPerOperationError,
    strawberry.union("SendPasswordResetResult"),
]
CompletePasswordResetResult = Annotated[
    PasswordResetCompleted
    | InvalidCodeError
    | TooManyCodeAttemptsError
    | InvalidInputError
    | OneCodeRequestPerOperationError,
    strawberry.union("CompletePasswordResetResult"),
]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Texts a one-time reset code to the account's phone; audited. The password stays "
        "until the code is used with completePasswordReset.",
    )
    async def reset_account_password(
        self, info: Info, account_id: strawberry.ID, reason: str = ""
    ) -> SendPasswordResetResult:
        refuse_code_floods(info)
        sent = await use_cases.reset_account_password(info.context, parse_id(account_id, "accountId"), reason)
        return PasswordResetCodeSent(phone=mask_phone(sent.phone), expires_at=sent.expires_at)

    @strawberry.mutation(
        description="Forgot password: texts a reset code if the phone has an account; answers the same "
        "either way."
    )
    async def request_password_reset(self, info: Info, phone: str) -> SendPasswordResetResult:
        refuse_code_floods(info)
        sent = await use_cases.request_password_reset(info.context, phone)
        return PasswordResetCodeSent(phone=mask_phone(sent.phone), expires_at=sent.expires_at)

    @strawberry.mutation(
        description="Sets a new password with the texted code (one use, 5 minutes, 5 guesses) and ends "
        "every login of the account."
    )
    async def complete_password_reset(
        self, info: Info, phone: str, code: str, new_password: str
    ) -> CompletePasswordResetResult:
        refuse_code_floods(info)
        done = await use_cases.complete_password_reset(info.context, phone, code, new_password)
        return PasswordResetCompleted(phone=mask_phone(done.phone))
