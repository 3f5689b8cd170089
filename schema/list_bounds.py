"""How many items a list field can return, declared on the field itself for the query-cost rule.

Every list field of the schema declares one (tests/architecture walks the schema), beside its type:

    @strawberry.field(metadata=at_most(24))
    def peak_hours(self) -> list[int]: ...

    steps: list[RouteStep] = strawberry.field(metadata=at_most(MAX_ROUTE_STEPS))

A field returning a connection declares `page_size("first")`; the connection's `edges` declare
`page_edges()` and take that page size. The cost rule (gualema/query_cost.py) reads the bound from
the field's strawberry definition and evaluates it with the operation's argument values, variables
included, so `myBookings(first: $n)` with n = 20 costs 20 items, not the largest page.

Kinds, from the most to the least exact:
- `page_size(arg)`: the argument's value (its schema default when absent), clamped to 1..maximum;
  the resolver refuses values outside that range, so the cost never undercounts.
- `page_edges()`: the page size of the field that returned this connection.
- `per_day(start, end, per_day, at_most)`: days in [start, end] × items per day, never more than the
  resolver's own cap.
- `at_most(n)`: the resolver, the domain or the type caps the list at n (a day has 24 hours, the
  resolver applies `.limit(n)`, a board shows at most n tickets).
- `planned(n)`: the hospital's own catalogue (departments, doctors, rooms, floors): no caller can
  grow it, nothing caps it; n is the size a hospital of ours is planned for. See decision 211.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

LIST_BOUND = "gualema.list_bound"

MAX_PAGE_SIZE = 100  # resolvers/pagination.py refuses larger pages; tests/architecture holds them equal


@dataclass(frozen=True)
class PageSize:
    argument: str
    maximum: int = MAX_PAGE_SIZE

    def items(self, arguments: Mapping[str, Any], _page: int | None) -> int:
        value = arguments.get(self.argument)
        if isinstance(value, int) and not isinstance(value, bool):
            return min(max(value, 1), self.maximum)
        return self.maximum  # absent without a default, or not an integer: the worst case


@dataclass(frozen=True)
class PageEdges:
    def items(self, _arguments: Mapping[str, Any], page: int | None) -> int:
        return MAX_PAGE_SIZE if page is None else page


@dataclass(frozen=True)
class PerDay:
    start: str
    end: str
    per_day: int
    at_most: int

    def items(self, arguments: Mapping[str, Any], _page: int | None) -> int:
        first, last = arguments.get(self.start), arguments.get(self.end)
        if isinstance(first, date) and isinstance(last, date) and last >= first:
            return min(self.at_most, ((last - first).days + 1) * self.per_day)
        return self.at_most  # a reversed or missing range is refused by the resolver, costed at worst


@dataclass(frozen=True)
class AtMost:
    count: int

    def items(self, _arguments: Mapping[str, Any], _page: int | None) -> int:
        return self.count


@dataclass(frozen=True)
class Planned:
    count: int

    def items(self, _arguments: Mapping[str, Any], _page: int | None) -> int:
        return self.count


ListBound = PageSize | PageEdges | PerDay | AtMost | Planned


def page_size(argument: str = "first", maximum: int = MAX_PAGE_SIZE) -> dict[str, ListBound]:
    return {LIST_BOUND: PageSize(argument, maximum)}


def page_edges() -> dict[str, ListBound]:
    return {LIST_BOUND: PageEdges()}


def per_day(start: str, end: str, *, items_per_day: int, at_most: int) -> dict[str, ListBound]:
    return {LIST_BOUND: PerDay(start, end, items_per_day, at_most)}


def at_most(count: int) -> dict[str, ListBound]:
    return {LIST_BOUND: AtMost(count)}


def planned(count: int) -> dict[str, ListBound]:
    return {LIST_BOUND: Planned(count)}
