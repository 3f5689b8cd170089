"""One cache for parsed documents and their validation errors, bounded by entries and by tokens.

strawberry's ParserCache and ValidationCache bound entries only, and a 2000-token document holds
about 760 KiB of AST (tokens are linked from every node), so 1024 hostile unique queries could pin
the better part of a gigabyte. Weighing entries by their token count bounds memory whatever the
queries look like. The validation result is stored beside the document: it depends only on the
document, the schema and the rules, which are fixed for one cache (one cache per schema).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gualema.query_limits import MAX_FIELD_NODES, check_field_nodes


@dataclass
class CachedDocument:
    document: DocumentNode
    tokens: int
    validation_errors: list[GraphQLError] | None = None


def token_count(document: DocumentNode) -> int:
    location = document.loc
    token = location.start_token if location is not None else None
    count = 0
    while token is not None:
        count += 1
        token = token.next
    return count


@dataclass
class DocumentCache:
    max_entries: int
    max_tokens: int
    entries: OrderedDict[str, CachedDocument] = field(default_factory=OrderedDict)
    tokens: int = 0
    hits: int = 0
    misses: int = 0

    def get(self, query: str) -> CachedDocument | None:
        entry = self.entries.get(query)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self.entries.move_to_end(query)
        return entry

    def put(self, query: str, document: DocumentNode) -> CachedDocument:
        entry = CachedDocument(document, token_count(document))
        if entry.tokens > self.max_tokens:
            return entry  # larger than the whole budget: used once, never kept
        self.entries[query] = entry
        self.tokens += entry.tokens
        while len(self.entries) > self.max_entries or self.tokens > self.max_tokens:
            _, evicted = self.entries.popitem(last=False)
            self.tokens -= evicted.tokens
        return entry


class CachedParsingAndValidation(SchemaExtension):
    """Pass as a factory closing over one shared DocumentCache; instances hold one request."""

    def __init__(self, cache: DocumentCache, max_fields: int = MAX_FIELD_NODES) -> None:
        self.cache = cache
        self.max_fields = max_fields
        self.entry: CachedDocument | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query or ""
        entry = self.cache.get(query)
        if entry is None:
            # A syntax error propagates to strawberry, which reports it; failures are not cached.
            try:
                document = parse(query, **context.parse_options)
            except RecursionError:
                # Nesting within the token limit can still exhaust the parser's recursion.
                raise GraphQLError("Syntax Error: the document is nested too deeply.") from None
            # Linear, before any validation: a unique comment misses the cache but not this check.
            check_field_nodes(document, self.max_fields)
            entry = self.cache.put(query, document)
        self.entry = entry
        context.graphql_document = entry.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        entry = self.entry
        if entry is not None and context.graphql_document is entry.document:
            if entry.validation_errors is None:
                entry.validation_errors = validate_document(
                    context.schema._schema, entry.document, context.validation_rules
                )
            # strawberry skips its own validation when this is already set.
            context.pre_execution_errors = list(entry.validation_errors)
        yield
