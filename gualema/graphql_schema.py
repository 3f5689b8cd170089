"""The executable schema: the merged GraphQL surface plus the extensions that guard it."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, MaxIntrospectionDepthRule, NoSchemaIntrospectionCustomRule, OperationType
from graphql.validation import ASTValidationRule
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.extensions import AddValidationRules, MaskErrors, MaxTokensLimiter, SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult

from gualema.document_cache import CachedParsingAndValidation, DocumentCache
from gualema.query_cost import cost_rule
from gualema.query_limits import depth_and_alias_rule
from gualema.settings import Settings
from schema.root import build_schema

log = logging.getLogger("gualema.graphql")

UNEXPECTED_ERROR = "Unexpected error."
INTERNAL_ERROR_CODE = "INTERNAL_SERVER_ERROR"
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def should_mask(error: GraphQLError) -> bool:
    """Mask what our code did not mean to say; keep what the client needs to fix its request.

    Kept: GraphQL's own errors (syntax, validation, variable coercion), permission refusals
    (StrawberryGraphQLError with extensions) and input coercion failures raised as ValueError or
    TypeError by a scalar's parser before execution (no path). Masked: any other exception, and
    every exception raised inside a resolver (it has a path), whatever its type.
    """
    original = error.original_error
    if original is None or isinstance(original, StrawberryGraphQLError):
        return False
    if isinstance(original, GraphQLError) and original.original_error is None:
        return False
    if error.path is None and isinstance(original, ValueError | TypeError | GraphQLError):
        return False
    log.error("unexpected error at %s: %r", error.path, original, exc_info=original)
    return True


class MaskUnexpectedErrors(MaskErrors):
    """Masked errors carry a code, so the HTTP layer can tell a server fault from a bad request."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message=UNEXPECTED_ERROR)

    def _process_result(self, result: object) -> None:
        # strawberry tests every streamed result against a runtime Protocol first, about 4 % of a
        # board's fan-out to 1000 displays; almost every result has no errors to mask.
        if getattr(result, "errors", None):
            super()._process_result(result)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL_ERROR_CODE},
        )


class HideSuggestions(SchemaExtension):
    """Production drops "Did you mean …" so typos cannot map a schema whose introspection is off."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        # graphql-core's result class (variable coercion failures) or strawberry's.
        if isinstance(result, ExecutionResult | GraphQLExecutionResult) and result.errors:
            # New error objects: validation errors are shared through the document cache.
            result.errors = [_without_suggestion(error) for error in result.errors]


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


class DropStrawberryErrorLog(logging.Filter):
    """strawberry logs every error of every request at ERROR, with the client's input quoted in
    coercion messages (ID and phone numbers included) and a traceback. Client mistakes are not
    server faults, and unexpected errors are logged once, by `should_mask`, with their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def quiet_strawberry_error_log() -> None:
    logger = logging.getLogger("strawberry.execution")
    if not any(isinstance(f, DropStrawberryErrorLog) for f in logger.filters):
        logger.addFilter(DropStrawberryErrorLog())


def validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    rules: list[type[ASTValidationRule]] = [
        depth_and_alias_rule(settings.max_query_depth, settings.max_query_aliases),
        cost_rule(settings.max_query_cost),
        MaxIntrospectionDepthRule,
    ]
    if not settings.introspection_enabled:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules


def schema_extensions(
    settings: Settings, cache: DocumentCache | None = None
) -> list[Callable[[], SchemaExtension] | type[SchemaExtension]]:
    """Factories, never shared instances: an extension instance holds one request's state.

    The rule classes and the document cache are built once here: validation results are cached
    per (document, rules), and new rule classes per request would make every lookup miss.
    """
    rules = validation_rules(settings)
    document_cache = cache or DocumentCache(
        max_entries=settings.document_cache_size, max_tokens=settings.document_cache_tokens
    )
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: AddValidationRules(rules),
        lambda: CachedParsingAndValidation(document_cache),
        MaskUnexpectedErrors,
    ]
    if settings.is_production:
        extensions.append(HideSuggestions)
    return extensions


class SharedEventExecution(StrawberryGraphQLCoreExecutionContext):
    """Executes a subscription event's selection set once per (event object, document, operation,
    variables) and gives the other subscribers of that event the same result (decision 095).

    Strawberry executes a subscription's selection once per subscriber per event; for a board yielded
    as one shared object to 1000 displays that is 999 identical executions. Only event objects whose
    type declares `same_for_every_viewer = True` are shared: it promises that nothing under the field
    reads the context (no per-viewer permissions, data or loaders). Authorization stays per
    subscriber, in the subscription resolver that decides what to yield. Results live as long as the
    event object, so nothing outlives the change.
    """

    _event_key: tuple[str, str, str] | None = None  # per subscription: its document and variables

    def build_per_event_executor(self, payload: Any) -> Any:
        # A subscriber whose event was already executed skips graphql-core's per-event copy of the
        # executor (about 5 % of a board's fan-out) and takes the shared result directly.
        if getattr(type(payload), "same_for_every_viewer", False):
            shared = vars(payload).get(_SHARED_RESULTS, {}).get(self._shared_key())
            if shared is not None:
                return _AlreadyExecuted(shared)
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        root = self.root_value
        if self.operation.operation != OperationType.SUBSCRIPTION or not getattr(
            type(root), "same_for_every_viewer", False
        ):
            return super().execute_operation(serially)
        # Kept on the event object itself (strawberry types are unhashable), so they go with it.
        results: dict[tuple[str, str, str], Any] = vars(root).setdefault(_SHARED_RESULTS, {})
        key = self._shared_key()
        if key not in results:
            result = super().execute_operation(serially)
            # An awaitable result becomes one task that every subscriber of this event awaits.
            results[key] = asyncio.ensure_future(result) if self.is_awaitable(result) else result
        return _AlreadyExecuted(results[key]).execute_operation(serially)

    def _shared_key(self) -> tuple[str, str, str]:
        if self._event_key is None:
            variables = getattr(self.variable_values, "coerced", self.variable_values)
            location = self.operation.loc
            self._event_key = (
                location.source.body if location is not None else repr(self.operation),
                self.operation.name.value if self.operation.name else "",
                json.dumps(variables, sort_keys=True, default=str),
            )
        return self._event_key


_SHARED_RESULTS = "_graphql_results"


class _AlreadyExecuted:
    """Stands in for a per-event executor: the event's result, already computed for another subscriber."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def execute_operation(self, serially: bool | None = None) -> Any:
        # Shielded: one display going away must not cancel the execution the others await.
        return asyncio.shield(self.result) if isinstance(self.result, asyncio.Future) else self.result


def schema_for(settings: Settings, cache: DocumentCache | None = None) -> strawberry.Schema:
    quiet_strawberry_error_log()
    return build_schema(
        extensions=schema_extensions(settings, cache),
        zone=settings.tz,
        execution_context_class=SharedEventExecution,
    )
