"""Expected failures of the domain. The GraphQL layer maps each to a union member of the same name."""

from __future__ import annotations

import re
from typing import Any, ClassVar


def code_for(name: str) -> str:
    """SlotUnavailable -> SLOT_UNAVAILABLE: the machine-readable code of a failure named by its class."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


class DomainError(Exception):
    default_message: ClassVar[str] = "the request cannot be carried out"
    # The machine-readable code clients switch on (ErrorCode in the schema); from the class name unless
    # a class sets its own. Messages per language: models/error_messages.py.
    code: ClassVar[str] = "DOMAIN_ERROR"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = code_for(cls.__name__)

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def __getattr__(self, name: str) -> object:
        details = self.__dict__.get("details", {})
        if name in details:
            return details[name]
        raise AttributeError(name)


class InvalidInput(DomainError):
    """A field of the input breaks a rule; `field` names it in the input's GraphQL spelling."""

    default_message = "the input is invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class NotFound(DomainError):
    default_message = "not found"


class NotAllowed(DomainError):
    default_message = "you may not do this"


class InvalidTransition(DomainError):
    default_message = "this change of status is not allowed"

    def __init__(self, entity: str, from_status: str, to_status: str) -> None:
        super().__init__(
            f"{entity} cannot go from {from_status} to {to_status}",
            entity=entity,
            from_status=from_status,
            to_status=to_status,
        )


def writable_updates(updates: dict[str, Any] | None, *, state_column: str) -> dict[str, Any]:
    """The extra columns a status writer sets beside the status; they can never carry the status."""
    values = dict(updates or {})
    if state_column in values:
        raise ValueError(f"the {state_column} column is written only by the transition itself")
    return values
