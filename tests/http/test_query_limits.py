"""Depth, alias and cost limits: how they count, fragments included, and that fan-out stays cheap."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import strawberry
from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

from gualema.graphql_schema import schema_for
from gualema.query_cost import operation_cost, too_costly
from gualema.query_limits import MAX_FIELD_NODES, depth_and_alias_rule, field_node_count
from gualema.settings import Settings
from schema.list_bounds import MAX_PAGE_SIZE, at_most, page_edges, page_size, per_day, planned


@strawberry.type
class Doctor:
    name: str
    title: str


@strawberry.type
class DoctorEdge:
    cursor: str
    node: Doctor


@strawberry.type
class DoctorConnection:
    edges: list[DoctorEdge] = strawberry.field(metadata=page_edges())
    total: int


@strawberry.type
class Session:
    id: int

    @strawberry.field(metadata=planned(16))
    def slots(self) -> list[Doctor]:
        return []


@strawberry.type
class Department:
    name: str

    @strawberry.field(metadata=at_most(30))
    def doctors(self) -> list[Doctor]:
        return []

    @strawberry.field
    def parent(self) -> Department | None:
        return None


@strawberry.type
class Query:
    @strawberry.field(metadata=page_size("first"))
    def departments(self, first: int | None = None) -> list[Department]:  # noqa: ARG002 - a schema argument
        return []

    @strawberry.field
    def department(self) -> Department:
        return Department(name="x")

    @strawberry.field(metadata=page_size("first"))
    def doctor_page(self, first: int = 10) -> DoctorConnection:  # noqa: ARG002 - a schema argument
        return DoctorConnection(edges=[], total=0)

    @strawberry.field(metadata=per_day("dateFrom", "dateTo", items_per_day=12, at_most=500))
    def sessions(self, date_from: date, date_to: date) -> list[Session]:  # noqa: ARG002 - schema arguments
        return []

    @strawberry.field
    def undeclared(self) -> list[Doctor]:
        return []


SCHEMA: GraphQLSchema = strawberry.Schema(query=Query)._schema


def cost_of(query: str, variables: Mapping[str, object] | None = None) -> int:
    document = parse(query)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operation_cost(SCHEMA, document, operation, variables)


def errors(query: str, *, depth: int = 12, aliases: int = 15) -> list[str]:
    rules = [depth_and_alias_rule(depth, aliases)]
    return [error.message for error in validate(SCHEMA, parse(query), rules)]


def test_every_field_costs_one_and_an_object_field_adds_its_selection() -> None:
    assert cost_of("{ department { name } }") == 2


def test_a_list_counts_the_items_its_field_declares() -> None:
    assert cost_of("{ department { doctors { name title } } }") == 1 + 1 + 30 * 2


def test_first_multiplies_the_selection_below_it() -> None:
    assert cost_of("{ departments(first: 5) { name doctors { name } } }") == 1 + 5 * (1 + 1 + 30)


def test_a_page_size_from_a_variable_counts_as_its_value() -> None:
    query = "query($n: Int) { departments(first: $n) { name } }"
    assert cost_of(query, {"n": 20}) == 1 + 20
    assert cost_of(query, {"n": 7}) == 1 + 7


def test_a_page_size_is_clamped_to_what_the_resolver_accepts() -> None:
    query = "query($n: Int) { departments(first: $n) { name } }"
    assert cost_of(query, {"n": 10_000}) == 1 + MAX_PAGE_SIZE
    assert cost_of(query, {"n": -3}) == 1 + 1
    assert cost_of(query, {}) == 1 + MAX_PAGE_SIZE  # no value and no default: the worst case


def test_an_absent_page_size_counts_as_the_arguments_default() -> None:
    assert cost_of("{ doctorPage { total edges { node { name } } } }") == 1 + 1 + 1 + 10 * (1 + 1)


def test_a_connection_multiplies_its_edges_and_not_its_other_fields() -> None:
    query = "query($n: Int!) { doctorPage(first: $n) { total edges { cursor node { name } } } }"
    assert cost_of(query, {"n": 3}) == 1 + 1 + 1 + 3 * (1 + 1 + 1)


def test_a_date_range_costs_its_days_times_the_items_of_a_day_up_to_the_cap() -> None:
    query = "query($from: Date!, $to: Date!) { sessions(dateFrom: $from, dateTo: $to) { id } }"
    week = {"from": "2026-03-02", "to": "2026-03-08"}
    two_months = {"from": "2026-03-01", "to": "2026-04-30"}
    assert cost_of(query, week) == 1 + 7 * 12
    assert cost_of(query, two_months) == 1 + 500  # 61 days x 12 = 732, capped where the resolver caps
    assert cost_of(query, {"from": "2026-03-08", "to": "2026-03-02"}) == 1 + 500  # reversed: refused later


def test_a_literal_range_costs_as_the_same_range_from_variables() -> None:
    literal = cost_of('{ sessions(dateFrom: "2026-03-02", dateTo: "2026-03-04") { id slots { name } } }')
    assert literal == 1 + 3 * 12 * (1 + 1 + 16)


def test_a_list_without_a_declared_bound_counts_as_the_largest_page() -> None:
    assert cost_of("{ undeclared { name } }") == 1 + MAX_PAGE_SIZE


def test_fragments_and_inline_fragments_cost_what_they_select() -> None:
    spread = cost_of("{ departments(first: 2) { ...D } } fragment D on Department { name doctors { name } }")
    inline = cost_of("{ departments(first: 2) { ... on Department { name doctors { name } } } }")
    written_out = cost_of("{ departments(first: 2) { name doctors { name } } }")
    assert spread == inline == written_out == 1 + 2 * (1 + 1 + 30)


def test_a_fragment_of_edges_costs_the_page_it_is_spread_under() -> None:
    query = (
        "{ a: doctorPage(first: 2) { ...E } b: doctorPage(first: 5) { ...E } }"
        " fragment E on DoctorConnection { edges { node { name } } }"
    )
    assert cost_of(query) == (1 + 1 + 2 * 2) + (1 + 1 + 5 * 2)


def test_introspection_is_free_for_the_cost_rule() -> None:
    assert cost_of("{ __typename __schema { types { name fields { name } } } }") == 0


def test_the_refusal_names_its_cost_and_the_limit_in_both_languages() -> None:
    error = too_costly(4101, 4000)
    assert error.extensions == {"code": "QUERY_TOO_COSTLY", "cost": 4101, "maxCost": 4000}
    assert error.message == (
        "查询代价 4101 超过上限 4000，请减少条目或字段 "
        "(the query costs 4101, more than the allowed 4000; ask for fewer items or fields)"
    )


def test_depth_counts_fields_on_the_longest_path_through_fragments() -> None:
    query = "{ department { parent { ...P } } } fragment P on Department { parent { parent { name } } }"
    assert errors(query, depth=5) == []
    assert errors(query, depth=4) == ["the operation is nested 5 fields deep, more than the allowed 4"]


def test_aliases_inside_a_fragment_count_at_every_spread() -> None:
    query = "{ a: department { ...F } b: department { ...F } } fragment F on Department { x: name y: name }"
    assert errors(query, aliases=6) == []
    assert errors(query, aliases=5) == ["the document uses 6 aliases, more than the allowed 5"]


def test_fragment_fan_out_is_measured_without_expanding_it() -> None:
    # Each fragment spreads the previous one twice: 2**40 fields once expanded. strawberry's own
    # depth and alias limiters walk every expansion and would not finish; these rules measure each
    # fragment once, so this returns at once with the exact counts.
    fragments = ["fragment F0 on Query { department { name } }"]
    for level in range(1, 41):
        fragments.append(
            f"fragment F{level} on Query {{ ...F{level - 1} a{level}: __typename ...F{level - 1} }}"
        )
    query = "{ ...F40 }\n" + "\n".join(fragments)

    assert errors(query) == [f"the document uses {2**40 - 1} aliases, more than the allowed 15"]
    assert cost_of(query) == 2**40 * 2


def test_a_document_with_too_many_field_nodes_is_refused_before_validation() -> None:

    query = "# unique comment 1\n{ " + " ".join(["me { id }"] * 245) + " }"  # 490 field nodes
    assert field_node_count(parse(query)) == 490 > MAX_FIELD_NODES
    result = schema_for(Settings()).execute_sync(query)
    assert result.errors is not None
    assert [(error.extensions or {})["code"] for error in result.errors] == ["QUERY_TOO_COMPLEX"]
