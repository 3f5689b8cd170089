"""The executable schema: the merged GraphQL surface plus the extensions that guard it."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import (
    BREAK,
    DocumentNode,
    GraphQLError,
    MaxIntrospectionDepthRule,
    NoSchemaIntrospectionCustomRule,
    OperationType,
    StringValueNode,
    Visitor,
    visit,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import ASTValidationRule
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.extensions import AddValidationRules, MaskErrors, MaxTokensLimiter, SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext, ExecutionResult
from tortoise.exceptions import ValidationError

from gualema import tracing
from gualema.document_cache import CachedParsingAndValidation, DocumentCache
from gualema.metrics import OperationMetrics, expected_error
from gualema.query_cost import costly_refusal
from gualema.query_limits import depth_and_alias_rule
from gualema.settings import Settings
from models.errors import DomainError, InvalidInput, NotAllowed, NotFound
from resolvers.context import Context
from schema.errors import expected_error_observers
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


# A domain error raised where the field's result has no union member for it (decision 136).
_DOMAIN_CODES: tuple[tuple[type[DomainError], str, str], ...] = (
    (InvalidInput, "BAD_USER_INPUT", "输入有误"),
    (NotFound, "NOT_FOUND", "未找到"),
    (NotAllowed, "FORBIDDEN", "无权执行此操作"),
    (DomainError, "BAD_USER_INPUT", "请求无法完成"),
)


def domain_error_answer(error: GraphQLError, exc: DomainError) -> GraphQLError:
    """The client's answer to an expected failure outside a result union: a code, Chinese first."""
    code, summary = next((code, zh) for kind, code, zh in _DOMAIN_CODES if isinstance(exc, kind))
    extensions: dict[str, Any] = {"code": code}
    if isinstance(exc, InvalidInput):
        extensions["field"] = exc.details.get("field")
    if type(exc) not in (InvalidInput, NotFound, NotAllowed):
        extensions["reason"] = type(exc).__name__  # which expected failure, for the client to switch on
    return GraphQLError(
        f"{summary}：{exc.message}",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def _typed(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        return domain_error_answer(error, original)
    if isinstance(original, ValidationError):
        # The ORM's own length and range checks, before any SQL: a value the use case did not bound.
        # Logged, since it means a missing check; the client's value is not echoed.
        log.warning("unbounded input at %s: %s", error.path, type(original).__name__)
        return domain_error_answer(
            error, InvalidInput("", "值过长或超出范围 (a value is too long or out of range)")
        )
    return error


class MaskUnexpectedErrors(MaskErrors):
    """Masked errors carry a code, so the HTTP layer can tell a server fault from a bad request.

    Domain errors that reach here (the field has no union member for them) are answered with their
    code instead of being masked."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message=UNEXPECTED_ERROR)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return super()._process_errors([_typed(error) for error in errors])

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


NUL_REFUSED = "文本中不能含有 NUL 字符 (strings may not contain NUL characters)"


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


class _NulLiteralFinder(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_: object) -> Any:
        if "\x00" in node.value:
            self.found = True
            return BREAK
        return None


def document_has_nul(document: DocumentNode) -> bool:
    finder = _NulLiteralFinder()
    visit(document, finder)
    return finder.found


class RefuseBeforeExecution(SchemaExtension):
    """Refusals that read the variables, so they cannot be cached validation rules; one extension,
    since each costs strawberry's hook machinery on every request. Pass as a factory:
    `lambda: RefuseBeforeExecution(max_cost)`.

    - An operation dearer than the cost limit (gualema/query_cost.py).
    - NUL in any string argument, on every database alike: PostgreSQL rejects NUL in text (a server
      fault, before this) while SQLite and MariaDB store it; BAD_USER_INPUT for all three (decision
      137). Literals are checked in the parsed document, variables in their JSON values.
    """

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.result is None:
            context.result = costly_refusal(context, self.max_cost) or nul_refusal(context)
        yield


def nul_refusal(context: ExecutionContext) -> GraphQLExecutionResult | None:
    document, text = context.graphql_document, context.query or ""
    # A literal NUL comes from an escape or a raw character: most documents skip the walk.
    maybe_literal = "\\u" in text or "\x00" in text
    if _has_nul(context.variables) or (maybe_literal and document is not None and document_has_nul(document)):
        return GraphQLExecutionResult(
            data=None, errors=[GraphQLError(NUL_REFUSED, extensions={"code": "BAD_USER_INPUT"})]
        )
    return None


class FreshLoadersPerOperation(SchemaExtension):
    """A WebSocket's context lives as long as the socket; its DataLoaders must not (STACK-NOTES).

    Every operation starts with empty loaders; subscriptions also call `fresh_loaders` per event.
    """

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            context.fresh_loaders()
        yield


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

    def filter(self, _record: logging.LogRecord) -> bool:
        return False


def quiet_strawberry_error_log() -> None:
    logger = logging.getLogger("strawberry.execution")
    if not any(isinstance(f, DropStrawberryErrorLog) for f in logger.filters):
        logger.addFilter(DropStrawberryErrorLog())


def validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    rules: list[type[ASTValidationRule]] = [
        depth_and_alias_rule(settings.max_query_depth, settings.max_query_aliases),
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
        lambda: RefuseBeforeExecution(settings.max_query_cost),  # needs variables: not a cached rule
        FreshLoadersPerOperation,
        MaskUnexpectedErrors,
        OperationMetrics,  # issue 19: /metrics
    ]
    if settings.is_production:
        extensions.append(HideSuggestions)
    if tracing.enabled(settings):  # issue 19: nothing at all when off
        extensions.append(tracing.GraphQLOperationSpan)
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

    def execute_operation(self, _serially: bool | None = None) -> Any:
        # Shielded: one display going away must not cancel the execution the others await.
        return asyncio.shield(self.result) if isinstance(self.result, asyncio.Future) else self.result


def schema_for(settings: Settings, cache: DocumentCache | None = None) -> strawberry.Schema:
    quiet_strawberry_error_log()
    if expected_error not in expected_error_observers:
        expected_error_observers.append(expected_error)
    return build_schema(
        settings.tz,
        extensions=schema_extensions(settings, cache),
        execution_context_class=SharedEventExecution,
    )
