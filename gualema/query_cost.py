"""A query cost limit (strawberry has none), modelled on Saleor's CostValidator, with real list bounds.

Every field costs 1. A list field's selection is multiplied by how many items the list can really
hold, which the field declares beside its type (schema/list_bounds.py): the value of `first`, from a
literal, a variable or the argument's default; the days of a `schedules` range times sessions per
day, capped where the resolver caps; a connection's `edges` take the page size of the field that
returned the connection. A list field without a declared bound (only possible outside our schema;
tests/architecture refuses it in ours) counts as the largest page.

The cost depends on variables, so it is checked when the operation is about to execute, after the
document's cached validation and before any resolver runs (`costly_refusal`), and the rate
limiter charges the same figure. It depends only on the variables that bounded fields' arguments
read, so `OPERATION_COSTS` keeps it per document and values of those variables: a document whose
bounds read none (every mutation) is costed once, not on every request. It is linear in the
document: each fragment is costed once per page size it is spread under, so fan-out through
fragments cannot blow up the rule.
Union members' selections are added, not maxed: an over-estimate that keeps the rule simple.
Introspection fields are free here; MaxIntrospectionDepthRule and the introspection setting guard them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_list_type,
    type_from_ast,
    value_from_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.types import ExecutionContext

from gualema.least_recently_used import LeastRecentlyUsed
from schema.list_bounds import LIST_BOUND, MAX_PAGE_SIZE, ListBound, PageSize

STRAWBERRY_DEFINITION = "strawberry-definition"  # graphql-core field extension holding strawberry's field


def declared_bound(field: GraphQLField) -> ListBound | None:
    definition = (field.extensions or {}).get(STRAWBERRY_DEFINITION)
    metadata = getattr(definition, "metadata", None) or {}
    bound = metadata.get(LIST_BOUND)
    return bound if bound is not None else None


def coerced_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, raw: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The variables as resolvers see them (dates as dates); none when they do not coerce, since
    execution refuses those anyway and bounds then fall back to their worst case."""
    values = get_variable_values(schema, operation.variable_definitions or (), dict(raw or {}))
    return dict(values.coerced) if isinstance(values, VariableValues) else {}


class DocumentCosts:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = dict(variables or {})
        self.costed: dict[tuple[str, int | None], int] = {}
        self.in_progress: set[tuple[str, int | None]] = set()
        # Variables that a bound reads: the walk visits every field whatever their values, so the
        # cost is a function of these alone.
        self.read: set[str] = set()

    def of(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, page: int | None = None
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.of_field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner_parent = type_from_ast(self.schema, condition) if condition else parent
                total += self.of(selection.selection_set, inner_parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.of_fragment(selection.name.value, page)
        return total

    def of_field(self, node: FieldNode, parent: GraphQLNamedType | None, page: int | None) -> int:
        if node.name.value.startswith("__"):
            return 0
        field = (
            parent.fields.get(node.name.value)
            if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            else None
        )
        if field is None:
            return 1  # an unknown field is FieldsOnCorrectTypeRule's error
        bound = declared_bound(field)
        is_list = is_list_type(get_nullable_type(field.type))
        items = 1
        inner_page: int | None = None
        if bound is not None:
            for argument in node.arguments or ():
                self.read.update(variables_in(argument.value))
            arguments = self.arguments(node, field)
            count = bound.items(arguments, page)
            if is_list:
                items = count
            if isinstance(bound, PageSize):
                inner_page = count  # a connection field: its edges take this page
        elif is_list:
            items = MAX_PAGE_SIZE
        if node.selection_set is None:
            return 1
        inner = self.of(node.selection_set, get_named_type(field.type), inner_page)
        return 1 + inner * items

    def arguments(self, node: FieldNode, field: GraphQLField) -> dict[str, Any]:
        """Argument values as the resolver gets them: literal, variable, or the schema default."""
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        values: dict[str, Any] = {}
        for name, definition in field.args.items():
            value_node = given.get(name)
            value = (
                definition.default_value
                if value_node is None
                else value_from_ast(value_node, definition.type, self.variables)
            )
            if value is not Undefined:
                values[name] = value
        return values

    def of_fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        known = self.costed.get(key)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or key in self.in_progress:
            return 0  # unknown fragments and cycles are other rules' errors
        self.in_progress.add(key)
        cost = self.of(fragment.selection_set, type_from_ast(self.schema, fragment.type_condition), page)
        self.in_progress.discard(key)
        self.costed[key] = cost
        return cost


def variables_in(value: ValueNode) -> Iterator[str]:
    if isinstance(value, VariableNode):
        yield value.name.value
    for name in ("values", "fields"):  # lists and input objects
        for inner in getattr(value, name, None) or ():
            yield from variables_in(getattr(inner, "value", inner))


def document_fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _costs(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    raw_variables: Mapping[str, Any] | None,
) -> tuple[int, frozenset[str]]:
    variables = coerced_variables(schema, operation, raw_variables)
    costs = DocumentCosts(schema, document_fragments(document), variables)
    cost = costs.of(operation.selection_set, schema.get_root_type(operation.operation))
    return cost, frozenset(costs.read)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    raw_variables: Mapping[str, Any] | None = None,
) -> int:
    return _costs(schema, document, operation, raw_variables)[0]


_ABSENT = "\x00absent"


@dataclass
class _OperationPlan:
    read: tuple[str, ...]
    by_values: LeastRecentlyUsed[str, int]


class OperationCosts:
    """Costs per (schema, document text, operation name) and the values of the variables its bounds
    read; bounded, least recently used out. Both the rate limiter's charge and the refusal before
    execution ask here, so a request is costed at most once."""

    def __init__(self, size: int = 1024, values_per_operation: int = 64) -> None:
        self.values_per_operation = values_per_operation
        self.plans: LeastRecentlyUsed[tuple[int, str, str | None], _OperationPlan] = LeastRecentlyUsed(size)

    def cost(
        self,
        schema: GraphQLSchema,
        query: str,
        operation_name: str | None,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        raw_variables: Mapping[str, Any] | None,
    ) -> int:
        key = (id(schema), query, operation_name)
        plan = self.plans.get(key)
        if plan is None:
            cost, read = _costs(schema, document, operation, raw_variables)
            plan = _OperationPlan(tuple(sorted(read)), LeastRecentlyUsed(self.values_per_operation))
            self.plans.put(key, plan)
            plan.by_values.put(self._values_key(plan, raw_variables), cost)
            return cost
        values = self._values_key(plan, raw_variables)
        known = plan.by_values.get(values)
        if known is None:
            known = _costs(schema, document, operation, raw_variables)[0]
            plan.by_values.put(values, known)
        return known

    @staticmethod
    def _values_key(plan: _OperationPlan, raw: Mapping[str, Any] | None) -> str:
        if not plan.read:
            return ""
        given = raw or {}
        values = [given.get(name, _ABSENT) for name in plan.read]
        try:
            return json.dumps(values, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):  # not JSON (a test's Python values): not memoised usefully
            return repr(values)


# The schema is part of the key: the process's one schema, and tests' own schemas, keep apart.
OPERATION_COSTS = OperationCosts()


def too_costly(cost: int, max_cost: int) -> GraphQLError:
    return GraphQLError(
        f"查询代价 {cost} 超过上限 {max_cost}，请减少条目或字段 "
        f"(the query costs {cost}, more than the allowed {max_cost}; ask for fewer items or fields)",
        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": max_cost},
    )


def costly_refusal(context: ExecutionContext, max_cost: int) -> GraphQLExecutionResult | None:
    """The refusal of an operation dearer than `max_cost`, checked after validation and before any
    resolver runs (gualema/graphql_schema.RefuseBeforeExecution). Validation results are cached per
    document, so a rule that read variables would cache one request's figure for the next."""
    document = context.graphql_document
    operation = get_operation_ast(document, context.operation_name) if document is not None else None
    if document is None or operation is None:
        return None
    schema = context.schema._schema
    cost = OPERATION_COSTS.cost(
        schema, context.query or "", context.operation_name, document, operation, context.variables
    )
    if cost > max_cost:
        return GraphQLExecutionResult(data=None, errors=[too_costly(cost, max_cost)])
    return None
