from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from gualema.query_cost import cost_rule
from gualema.settings import Settings
from schema.root import build_schema

log = logging.getLogger("gualema.graphql")

_SUGGESTION = re.compile(r"\s*Did you mean .*\?$")


def should_mask(error: GraphQLError) -> bool:
    """Unexpected exceptions are masked; GraphQL's own errors and permission refusals are not."""
    original = error.original_error
    if original is None:
        return False
    from strawberry.exceptions import StrawberryGraphQLError

    if isinstance(original, StrawberryGraphQLError | GraphQLError):
        return False
    if type(original).__name__ == "PermissionError" or getattr(original, "extensions", None):
        return False
    log.error("unexpected error in %s", error.path, exc_info=original)
    return True


class HideSuggestions(SchemaExtension):
    """Production hides "Did you mean …" so the schema cannot be mapped by typos."""

    def on_validate(self) -> Iterator[None]:
        yield
        errors = self.execution_context.pre_execution_errors or []
        for error in errors:
            error.message = _SUGGESTION.sub("", error.message)


def schema_extensions(settings: Settings) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """Factories, never shared instances: an extension instance holds one request's state."""
    cache_size = settings.document_cache_size
    rules = [cost_rule(settings.max_query_cost)]
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        # The parse and validation caches are shared per maxsize inside strawberry.
        lambda: ParserCache(maxsize=cache_size),
        lambda: ValidationCache(maxsize=cache_size),
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_query_aliases),
        lambda: AddValidationRules(rules),
        lambda: MaskErrors(should_mask_error=should_mask, error_message="Unexpected error."),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    if settings.is_production:
        extensions.append(HideSuggestions)
    return extensions


def schema_for(settings: Settings) -> strawberry.Schema:
    return build_schema(extensions=schema_extensions(settings))
