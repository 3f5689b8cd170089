"""A query cost limit (strawberry has none), modelled on Saleor's CostValidator.

Every field costs 1. A field's selection is multiplied by how many items it can return:
- a `first`/`last`/`limit` argument given as a literal counts as that many items;
- given as a variable it counts as MAX_PAGE_SIZE (validation results are cached per document,
  so they must not depend on variables; paginated resolvers clamp their page to MAX_PAGE_SIZE);
- a list field without such an argument counts as DEFAULT_LIST_SIZE items, except the lists of a
  `…Connection` type (`edges`, `nodes`), whose size the connection field's argument already set.
Union members' selections are added, not maxed: an over-estimate that keeps the rule simple.
Each fragment is costed once per document, so fan-out through fragments cannot blow up the rule.
Introspection fields are free here; MaxIntrospectionDepthRule and the introspection setting guard them.
"""

from __future__ import annotations

from typing import Any

from graphql import (
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
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    type_from_ast,
)

PAGE_ARGUMENTS = ("first", "last", "limit")
MAX_PAGE_SIZE = 100
DEFAULT_LIST_SIZE = 20


class DocumentCosts:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.costed: dict[str, int] = {}
        self.in_progress: set[str] = set()

    def of(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.of_field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner_parent = type_from_ast(self.schema, condition) if condition else parent
                total += self.of(selection.selection_set, inner_parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.of_fragment(selection.name.value)
        return total

    def of_field(self, node: FieldNode, parent: GraphQLNamedType | None) -> int:
        if node.name.value.startswith("__"):
            return 0
        field = (
            parent.fields.get(node.name.value)
            if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            else None
        )
        if field is None:
            return 1  # an unknown field is FieldsOnCorrectTypeRule's error
        inner = self.of(node.selection_set, get_named_type(field.type))
        return 1 + inner * self.items(node, field, parent)

    def of_fragment(self, name: str) -> int:
        known = self.costed.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self.in_progress:
            return 0  # unknown fragments and cycles are other rules' errors
        self.in_progress.add(name)
        cost = self.of(fragment.selection_set, type_from_ast(self.schema, fragment.type_condition))
        self.in_progress.discard(name)
        self.costed[name] = cost
        return cost

    @staticmethod
    def items(node: FieldNode, field: GraphQLField, parent: GraphQLNamedType | None) -> int:
        for argument in node.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            if isinstance(argument.value, IntValueNode):
                return max(1, int(argument.value.value))
            if isinstance(argument.value, VariableNode):
                return MAX_PAGE_SIZE
        if is_list_type(get_nullable_type(field.type)):
            if parent is not None and parent.name.endswith("Connection"):
                return 1
            return DEFAULT_LIST_SIZE
        return 1


def operation_cost(schema: GraphQLSchema, operation: OperationDefinitionNode, costs: DocumentCosts) -> int:
    return costs.of(operation.selection_set, schema.get_root_type(operation.operation))


def cost_rule(max_cost: int) -> type[ValidationRule]:
    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = {
                d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            self.costs = DocumentCosts(context.schema, fragments)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            cost = operation_cost(self.context.schema, node, self.costs)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"the query costs {cost}, more than the allowed {max_cost}; "
                        "ask for fewer items or fields",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": max_cost},
                    )
                )

    return QueryCostRule
