"""Every list field says how many items it can return, beside the field (schema/list_bounds.py), so the
cost rule never guesses; a new list field without a bound fails here, not in production."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from gualema.graphql_schema import schema_for
from gualema.query_cost import declared_bound
from gualema.settings import Settings
from resolvers.pagination import MAX_PAGE_SIZE as RESOLVER_MAX_PAGE_SIZE
from schema.list_bounds import MAX_PAGE_SIZE, PageEdges, PageSize, PerDay

SCHEMA = schema_for(Settings())._schema


def output_fields() -> Iterator[tuple[str, GraphQLField]]:
    for type_ in SCHEMA.type_map.values():
        if type_.name.startswith("__") or not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for name, field in type_.fields.items():
            yield f"{type_.name}.{name}", field


def test_every_list_field_declares_its_bound() -> None:
    missing = [
        name
        for name, field in output_fields()
        if is_list_type(get_nullable_type(field.type)) and declared_bound(field) is None
    ]
    assert missing == []


def test_every_field_returning_a_connection_declares_its_page_size() -> None:
    missing = [
        name
        for name, field in output_fields()
        if get_named_type(field.type).name.endswith("Connection")
        and not isinstance(declared_bound(field), PageSize)
    ]
    assert missing == []


def test_edges_take_their_page_only_inside_a_connection() -> None:
    misplaced = [
        name
        for name, field in output_fields()
        if isinstance(declared_bound(field), PageEdges) and not name.split(".")[0].endswith("Connection")
    ]
    assert misplaced == []


def test_bounds_name_arguments_the_field_has() -> None:
    wrong = []
    for name, field in output_fields():
        bound = declared_bound(field)
        named = [bound.argument] if isinstance(bound, PageSize) else []
        if isinstance(bound, PerDay):
            named = [bound.start, bound.end]
        wrong += [f"{name}({argument})" for argument in named if argument not in field.args]
    assert wrong == []


def test_the_largest_page_is_the_one_resolvers_allow() -> None:
    assert MAX_PAGE_SIZE == RESOLVER_MAX_PAGE_SIZE
