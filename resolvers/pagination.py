"""Keyset pagination for cursor connections (schema/pagination.py turns pages into connections).

Pages are ordered by primary key, newest first, and continue strictly after the last key seen, so
rows inserted meanwhile never shift or repeat a page the way OFFSET would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.errors import InvalidInput

M = TypeVar("M", bound=Model)

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[M]):
    rows: list[M]
    has_next_page: bool
    has_previous_page: bool


async def keyset_page(query: QuerySet[M], first: int, after: int | None) -> Page[M]:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput("first", f"first is between 1 and {MAX_PAGE_SIZE}")
    pk = query.model._meta.pk_attr
    if after is not None:
        query = query.filter(**{f"{pk}__lt": after})
    rows = await query.order_by(f"-{pk}").limit(first + 1)
    return Page(rows=rows[:first], has_next_page=len(rows) > first, has_previous_page=after is not None)
