"""Cursor connections (edges / node / cursor / pageInfo) for any list, and parsing of ids from the wire.

Use in a field:  `return Connection.of(page, "account", Account.from_model)` with a
`resolvers.pagination.Page`. Strawberry names the concrete types `AccountConnection` and
`AccountEdge`. Cursors are opaque to clients: base64 of "<kind>:<key>", refused when they come
back on another connection.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError

from models.errors import InvalidInput

NodeType = TypeVar("NodeType")

DEFAULT_PAGE_SIZE = 20


def encode_cursor(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None, field: str = "after") -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        cursor_kind, _, key = text.partition(":")
        if cursor_kind == kind and key.isdigit():
            return int(key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput(field, "this cursor does not come from this list")


def parse_id(value: strawberry.ID | str, field: str = "id") -> int:
    text = str(value).strip()
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(field, "not a valid id")
    return int(text)


def id_or_none(value: strawberry.ID | str | None) -> int | None:
    """For lookups: an id that cannot exist finds nothing, rather than failing the query."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and len(text) <= 18 else None


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeType]):
    node: NodeType
    cursor: str


@strawberry.type
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Any, kind: str, to_node: Callable[[Any], NodeType]) -> Connection[NodeType]:
        """`page` is a resolvers.pagination.Page; rows are keyed by their primary key."""
        edges = [Edge(node=to_node(row), cursor=encode_cursor(kind, row.pk)) for row in page.rows]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


@contextmanager
def input_errors_as_graphql_errors() -> Iterator[None]:
    """For list fields without a result union: a bad `first` or cursor is a clear GraphQL error."""
    try:
        yield
    except InvalidInput as exc:
        raise GraphQLError(
            exc.message, extensions={"code": "BAD_USER_INPUT", "field": exc.details.get("field")}
        ) from None
