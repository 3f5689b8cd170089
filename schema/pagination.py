"""Cursor connections (edges / node / cursor / pageInfo) for any list.

Use in a field:  `return Connection.of(page, "account", Account.from_model)` with a
`resolvers.pagination.Page`. Strawberry names the concrete types `AccountConnection` and
`AccountEdge`. Cursors are opaque to clients: base64 of "<kind>:<key>", refused when they come
back on another connection.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from models.errors import InvalidInput
from schema.list_bounds import page_edges

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
    edges: list[Edge[NodeType]] = strawberry.field(metadata=page_edges())
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
