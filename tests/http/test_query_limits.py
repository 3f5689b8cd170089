"""Depth, alias and cost limits: how they count, fragments included, and that fan-out stays cheap."""

from __future__ import annotations

import strawberry
from graphql import FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode, parse, validate

from gualema.graphql_schema import schema_for
from gualema.query_cost import DEFAULT_LIST_SIZE, MAX_PAGE_SIZE, DocumentCosts, cost_rule, operation_cost
from gualema.query_limits import MAX_FIELD_NODES, depth_and_alias_rule, field_node_count
from gualema.settings import Settings


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
    edges: list[DoctorEdge]


@strawberry.type
class Department:
    name: str

    @strawberry.field
    def doctors(self) -> list[Doctor]:
        return []

    @strawberry.field
    def parent(self) -> Department | None:
        return None


@strawberry.type
class Query:
    @strawberry.field
    def departments(self, first: int | None = None) -> list[Department]:  # noqa: ARG002 - a schema argument
        return []

    @strawberry.field
    def department(self) -> Department:
        return Department(name="x")

    @strawberry.field
    def doctor_page(self, first: int = 10) -> DoctorConnection:  # noqa: ARG002 - a schema argument
        return DoctorConnection(edges=[])


SCHEMA: GraphQLSchema = strawberry.Schema(query=Query)._schema


def cost_of(query: str) -> int:
    document = parse(query)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operation_cost(SCHEMA, operation, DocumentCosts(SCHEMA, fragments))


def errors(query: str, *, depth: int = 12, aliases: int = 15, cost: int = 10_000) -> list[str]:
    rules = [depth_and_alias_rule(depth, aliases), cost_rule(cost)]
    return [error.message for error in validate(SCHEMA, parse(query), rules)]


def test_every_field_costs_one_and_an_object_field_adds_its_selection() -> None:
    assert cost_of("{ department { name } }") == 2


def test_an_unpaginated_list_counts_as_the_default_list_size() -> None:
    assert cost_of("{ department { doctors { name title } } }") == 1 + 1 + DEFAULT_LIST_SIZE * 2


def test_first_multiplies_the_selection_below_it() -> None:
    assert cost_of("{ departments(first: 5) { name doctors { name } } }") == 1 + 5 * (
        1 + 1 + DEFAULT_LIST_SIZE
    )


def test_a_page_size_from_a_variable_counts_as_the_largest_page() -> None:
    assert cost_of("query($n: Int) { departments(first: $n) { name } }") == 1 + MAX_PAGE_SIZE


def test_a_connection_is_multiplied_once_not_again_for_its_edges() -> None:
    assert cost_of("{ doctorPage(first: 3) { edges { cursor node { name } } } }") == 1 + 3 * (1 + 1 + 2)


def test_fragments_and_inline_fragments_cost_what_they_select() -> None:
    spread = cost_of("{ departments(first: 2) { ...D } } fragment D on Department { name doctors { name } }")
    inline = cost_of("{ departments(first: 2) { ... on Department { name doctors { name } } } }")
    written_out = cost_of("{ departments(first: 2) { name doctors { name } } }")
    assert spread == inline == written_out == 1 + 2 * (1 + 1 + DEFAULT_LIST_SIZE)


def test_introspection_is_free_for_the_cost_rule() -> None:
    assert cost_of("{ __typename __schema { types { name fields { name } } } }") == 0


def test_a_costly_query_is_refused_with_its_cost() -> None:
    query = "{ departments(first: 100) { doctors { name title } } }"
    assert errors(query, cost=4000) == [
        "the query costs 4101, more than the allowed 4000; ask for fewer items or fields"
    ]
    assert errors(query, cost=4101) == []


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

    assert errors(query) == [
        f"the query costs {2**40 * 2}, more than the allowed 10000; ask for fewer items or fields",
        f"the document uses {2**40 - 1} aliases, more than the allowed 15",
    ]


def test_a_document_with_too_many_field_nodes_is_refused_before_validation() -> None:
    query = "# unique comment 1\n{ " + " ".join(["me { id }"] * 245) + " }"  # 490 field nodes
    assert field_node_count(parse(query)) == 490 > MAX_FIELD_NODES
    result = schema_for(Settings()).execute_sync(query)
    assert result.errors is not None
    assert [(error.extensions or {})["code"] for error in result.errors] == ["QUERY_TOO_COMPLEX"]
