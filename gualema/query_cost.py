"""A query cost limit (strawberry has none): every field costs 1, and a list field multiplies the cost
of its selection by its `first`/`last`/`limit` argument (default 20), like Saleor's CostValidator."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)

PAGE_ARGUMENTS = ("first", "last", "limit")
DEFAULT_PAGE = 20


def cost_rule(max_cost: int) -> type[ValidationRule]:
    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments: dict[str, FragmentDefinitionNode] = {
                d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            cost = self._selection_cost(node.selection_set, set())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"the query costs {cost}, more than the allowed {max_cost}; "
                        "ask for fewer items or fields",
                        node,
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": max_cost},
                    )
                )

        def _selection_cost(self, selection_set: SelectionSetNode | None, seen: set[str]) -> int:
            if selection_set is None:
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    inner = self._selection_cost(selection.selection_set, seen)
                    total += 1 + inner * self._multiplier(selection)
                elif isinstance(selection, InlineFragmentNode):
                    total += self._selection_cost(selection.selection_set, seen)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is not None and name not in seen:
                        total += self._selection_cost(fragment.selection_set, seen | {name})
            return total

        def _multiplier(self, node: FieldNode) -> int:
            for argument in node.arguments or ():
                if argument.name.value in PAGE_ARGUMENTS:
                    if isinstance(argument.value, IntValueNode):
                        return max(1, int(argument.value.value))
                    if isinstance(argument.value, VariableNode):
                        value = (self.context.variable_values or {}).get(argument.value.name.value)  # type: ignore[attr-defined]
                        if isinstance(value, int):
                            return max(1, value)
                        return 100  # unknown at validation time: assume the largest page
            return 1

    return QueryCostRule
