"""A query cost limit (strawberry has none), modelled on Saleor's CostValidator, with real list bounds.

Every field costs 1. A list field's selection is multiplied by how many items the list can really
hold, which the field declares beside its type (schema/list_bounds.py): the value of `first`, from a
literal, a variable or the argument's default; the days of a `schedules` range times sessions per
day, capped where the resolver caps; a connection's `edges` take the page size of the field that
returned the connection. A list field without a declared bound (only possible outside our schema;
tests/architecture refuses it in ours) counts as the largest page.

The cost depends on variables, so it is checked when the operation is about to execute, after the
document's cached validation and before any resolver runs (`RefuseCostlyOperations`), and the rate
limiter charges the same figure. It is linear in the document: each fragment is costed once per
page size it is spread under, so fan-out through fragments cannot blow up the rule.
Union members' selections are added, not maxed: an over-estimate that keeps the rule simple.
Introspection fields are free here; MaxIntrospectionDepthRule and the introspection setting guard them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_list_type,
    type_from_ast,
    value_from_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.extensions import SchemaExtension

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


def document_fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    raw_variables: Mapping[str, Any] | None = None,
) -> int:
    variables = coerced_variables(schema, operation, raw_variables)
    costs = DocumentCosts(schema, document_fragments(document), variables)
    return costs.of(operation.selection_set, schema.get_root_type(operation.operation))


def too_costly(cost: int, max_cost: int) -> GraphQLError:
    return GraphQLError(
        f"查询代价 {cost} 超过上限 {max_cost}，请减少条目或字段 "
        f"(the query costs {cost}, more than the allowed {max_cost}; ask for fewer items or fields)",
        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": max_cost},
    )


class RefuseCostlyOperations(SchemaExtension):
    """Refuses an operation dearer than `max_cost` after validation and before any resolver runs.

    Validation results are cached per document, so a rule that read variables would cache one
    request's figure for the next; this runs per request instead, in time linear in the document.
    Pass as a factory: `lambda: RefuseCostlyOperations(max_cost)`.
    """

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = get_operation_ast(document, context.operation_name) if document is not None else None
        if document is not None and operation is not None and context.result is None:
            cost = operation_cost(context.schema._schema, document, operation, context.variables)
            if cost > self.max_cost:
                context.result = GraphQLExecutionResult(data=None, errors=[too_costly(cost, self.max_cost)])
        yield
