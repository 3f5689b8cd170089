"""Typed expected errors. Each GraphQL error type is bound to one domain exception class."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import strawberry
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info

from models.error_messages import CATALOGUE, language_of, message_for
from models.errors import DomainError, InvalidInput, InvalidTransition, NotAllowed, NotFound
from models.rate_limits import RateLimited
from schema.ids import MalformedId

T = TypeVar("T")

_handlers: list[strawberry.ExceptionHandler[Any, Any]] = []
# Told (field name, error type name) of every expected error answered; the composition adds metrics.
expected_error_observers: list[Callable[[str, str], None]] = []


# Every expected failure's machine-readable code, one per DomainError class (models/error_messages.py).
_ErrorCodes: type[Enum] = Enum("ErrorCode", {code: code for code in CATALOGUE})  # type: ignore[misc]
ErrorCode = strawberry.enum(
    _ErrorCodes, description="What went wrong, for programs: stable across releases and languages."
)


@strawberry.interface(
    description="An expected failure; clients switch on __typename or `code` and may show `message` "
    "(Chinese by default, English with `Accept-Language: en`)."
)
class Error:
    message: str
    code: ErrorCode  # type: ignore[valid-type]


def request_language(info: Info) -> str:
    request = getattr(info.context, "request", None)
    headers = getattr(request, "headers", None)
    return language_of(headers.get("accept-language") if headers is not None else None)


def maps(exception_class: type[DomainError]) -> Any:
    """Class decorator: the strawberry type becomes the union member for `exception_class`."""

    def register(gql_type: type[T]) -> type[T]:
        field_names = [f.name for f in gql_type.__strawberry_definition__.fields]  # type: ignore[attr-defined]

        class Handler(strawberry.ExceptionHandler):
            exception_type = exception_class
            error_type = gql_type

            # strawberry passes `field` and `info` by keyword, so the names stay though `field` is unused
            def handle(self, exception: DomainError, *, field: StrawberryField, info: Info) -> Any:  # noqa: ARG002
                values = {name: getattr(exception, name, None) for name in field_names}
                code = exception.code if exception.code in CATALOGUE else exception_class.code
                values["code"] = ErrorCode[code]
                values["message"] = message_for(
                    code,
                    request_language(info),  # type: ignore[arg-type]
                    exception.details,
                    exception.message,
                )
                for observe in expected_error_observers:
                    observe(info.field_name, gql_type.__name__)
                return gql_type(**values)

        _handlers.append(Handler())
        return gql_type

    return register


def exception_handlers() -> list[strawberry.ExceptionHandler[Any, Any]]:
    return list(_handlers)


@maps(InvalidInput)
@strawberry.type
class InvalidInputError(Error):
    field: str


@maps(NotFound)
@strawberry.type
class NotFoundError(Error):
    pass


class MalformedIdAsNotFound(strawberry.ExceptionHandler):
    """For result unions without InvalidInputError: a malformed id finds nothing (decision 135).

    Registered after InvalidInputError's handler, which wins where the union has both."""

    exception_type = MalformedId
    error_type = NotFoundError

    def handle(
        self,
        exception: MalformedId,
        *,
        field: StrawberryField,  # noqa: ARG002 - strawberry passes it by keyword
        info: Info,
    ) -> NotFoundError:
        message = message_for("NOT_FOUND", request_language(info), {}, exception.message)  # type: ignore[arg-type]
        return NotFoundError(message=message, code=ErrorCode["NOT_FOUND"])


_handlers.append(MalformedIdAsNotFound())


@maps(NotAllowed)
@strawberry.type
class NotAllowedError(Error):
    pass


@maps(InvalidTransition)
@strawberry.type
class InvalidStatusTransition(Error):
    entity: str
    from_status: str
    to_status: str


@maps(RateLimited)
@strawberry.type
class RateLimitedError(Error):
    limit: str
    retry_after_seconds: int
