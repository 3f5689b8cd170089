"""The one parser of ids sent by clients.

An id on the wire is ASCII digits only: no sign, no whitespace, no other script's digits, within the
column's integer range and above zero. Python's `int()` accepts " 1", "+1", "１" and "١" and must
never see client text; every ID argument and input field goes through `parse_id`. A malformed id
raises MalformedId (an InvalidInput): a result union answers it with its InvalidInputError member, or
failing that its NotFoundError member; any other field with a GraphQL error whose `extensions.code` is
BAD_USER_INPUT (gualema/graphql_schema.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import strawberry

from models.errors import InvalidInput

INT_MAX = 2**31 - 1
"""Most tables key on a 32-bit integer (PostgreSQL `integer`): a larger id cannot exist."""
BIGINT_MAX = 2**63 - 1
"""Tables keyed on a 64-bit integer (notifications) pass this as `maximum`."""

_DIGITS = re.compile(r"[0-9]{1,19}")
MALFORMED = "编号格式不正确 (not a well-formed id)"


class MalformedId(InvalidInput):
    """A malformed id names nothing: InvalidInputError where the result union has it, else
    NotFoundError (schema/errors.py), else BAD_USER_INPUT."""

    def __init__(self, field: str) -> None:
        super().__init__(field, MALFORMED)


def parse_id(value: strawberry.ID | str, field: str = "id", *, maximum: int = INT_MAX) -> int:
    text = value if isinstance(value, str) else str(value)
    if _DIGITS.fullmatch(text) is None:
        raise MalformedId(field)
    number = int(text)
    if not 0 < number <= maximum:
        raise MalformedId(field)
    return number


def parse_optional_id(value: strawberry.ID | str | None, field: str = "id") -> int | None:
    """`None` and strawberry's UNSET (an omitted input field) are no id."""
    return parse_id(value, field) if isinstance(value, str) else None


def parse_ids(values: Iterable[strawberry.ID | str], field: str, *, maximum: int = INT_MAX) -> list[int]:
    return [parse_id(value, field, maximum=maximum) for value in values]


def render_id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))
