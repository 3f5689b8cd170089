"""The one parser of ids sent by clients.

An id on the wire is ASCII digits only: no sign, no whitespace, no other script's digits, within the
column's integer range and above zero. Python's `int()` accepts " 1", "+1", "１" and "١" and must
never see client text; every ID argument and input field goes through `parse_id`. A malformed id
raises InvalidInput, which a field's result union answers as InvalidInputError and any other field as a
GraphQL error with `extensions.code` BAD_USER_INPUT (gualema/graphql_schema.py).
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


def parse_id(value: strawberry.ID | str, field: str = "id", *, maximum: int = INT_MAX) -> int:
    text = value if isinstance(value, str) else str(value)
    if _DIGITS.fullmatch(text) is None:
        raise InvalidInput(field, MALFORMED)
    number = int(text)
    if not 0 < number <= maximum:
        raise InvalidInput(field, MALFORMED)
    return number


def parse_optional_id(value: strawberry.ID | str | None, field: str = "id") -> int | None:
    """`None` and strawberry's UNSET (an omitted input field) are no id."""
    return parse_id(value, field) if isinstance(value, str) else None


def parse_ids(values: Iterable[strawberry.ID | str], field: str, *, maximum: int = INT_MAX) -> list[int]:
    return [parse_id(value, field, maximum=maximum) for value in values]


def render_id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))
