"""Depth and alias limits as validation rules that run in time linear in the document.

strawberry's QueryDepthLimiter and MaxAliasesLimiter re-walk a fragment at every spread, so a
chain of fragments that each spread the previous one twice (a few hundred tokens) costs 2**n
steps and pins a CPU for minutes. Here each fragment is measured once and its result reused.
Introspection fields (`__schema`, `__type`, `__typename`) do not count for depth (graphql-core's
MaxIntrospectionDepthRule and the introspection setting guard them) but their aliases count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


@dataclass(frozen=True)
class Shape:
    depth: int  # fields on the longest path, leaves included: `{ me { id } }` is 2
    aliases: int  # aliased fields, counted as often as the fragments holding them are spread


EMPTY = Shape(0, 0)


class DocumentShapes:
    """Measures selection sets; each fragment is measured once per document."""

    def __init__(self, document_fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = document_fragments
        self.measured: dict[str, Shape] = {}
        self.in_progress: set[str] = set()  # fragment cycles are reported by NoFragmentCyclesRule

    def of(self, selection_set: SelectionSetNode | None) -> Shape:
        if selection_set is None:
            return EMPTY
        depth = 0
        aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.of(selection.selection_set)
                aliases += inner.aliases + (1 if selection.alias else 0)
                if not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner.depth)
            elif isinstance(selection, InlineFragmentNode):
                inner = self.of(selection.selection_set)
                depth = max(depth, inner.depth)
                aliases += inner.aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.of_fragment(selection.name.value)
                depth = max(depth, inner.depth)
                aliases += inner.aliases
        return Shape(depth, aliases)

    def of_fragment(self, name: str) -> Shape:
        known = self.measured.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self.in_progress:
            return EMPTY  # unknown fragments and cycles are other rules' errors
        self.in_progress.add(name)
        shape = self.of(fragment.selection_set)
        self.in_progress.discard(name)
        self.measured[name] = shape
        return shape


def document_fragments(context: ValidationContext) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in context.document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def operation_label(node: OperationDefinitionNode) -> str:
    return f"operation {node.name.value!r}" if node.name else "the operation"


def depth_and_alias_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    class DepthAndAliasRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.shapes = DocumentShapes(document_fragments(context))
            self.aliases = 0

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            shape = self.shapes.of(node.selection_set)
            if shape.depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"{operation_label(node)} is nested {shape.depth} fields deep, "
                        f"more than the allowed {max_depth}",
                        node,
                        extensions={"code": "QUERY_TOO_DEEP", "depth": shape.depth, "maxDepth": max_depth},
                    )
                )
            self.aliases += shape.aliases

        def leave_document(self, *_: Any) -> None:
            if self.aliases > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"the document uses {self.aliases} aliases, more than the allowed {max_aliases}",
                        extensions={
                            "code": "TOO_MANY_ALIASES",
                            "aliases": self.aliases,
                            "maxAliases": max_aliases,
                        },
                    )
                )

    return DepthAndAliasRule


MAX_FIELD_NODES = 300  # field nodes per document, fragments counted once per definition


def field_node_count(document: DocumentNode) -> int:
    """Every FieldNode written in the document, in one linear walk (no fragment expansion)."""
    count = 0
    stack: list[SelectionSetNode] = [
        definition.selection_set
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                count += 1
            selection_set = getattr(selection, "selection_set", None)
            if selection_set is not None:
                stack.append(selection_set)
    return count


def check_field_nodes(document: DocumentNode, max_fields: int = MAX_FIELD_NODES) -> None:
    """Refuses a document before graphql-core's OverlappingFieldsCanBeMerged, which is quadratic."""
    count = field_node_count(document)
    if count > max_fields:
        raise GraphQLError(
            f"the document has {count} fields, more than the allowed {max_fields}",
            extensions={"code": "QUERY_TOO_COMPLEX", "fields": count, "maxFields": max_fields},
        )
