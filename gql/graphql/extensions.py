"""Schema extensions: telemetry, operation kind, error codes and masking of unexpected
errors, and the query limits and cost budget applied to every operation."""

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, GraphQLSyntaxError
from graphql import OperationType as CoreOperationType
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types.graphql import OperationType

from gql.core.config import Settings
from gql.core.errors import ErrorCode, RequestError
from gql.core.observability import current_request
from gql.graphql import compat
from gql.graphql.execution.cost import CostReport, current_cost_report
from gql.graphql.execution.documents import parse_document, rules_for, validate_cached
from gql.graphql.execution.limits import (
    TOKEN_LIMIT_MARKER,
    Limits,
    directive_errors,
    executed,
    measure_operations,
    over_limits,
)
from gql.web.costbudget import caller_key, over_budget

logger = logging.getLogger("gql.errors")

# The limits of an operation run without the app's settings (a bare schema.execute).
DEFAULTS = Settings.model_construct()
INTERNAL_MESSAGE = "Internal server error."
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; try again shortly."


def is_unavailable(error: BaseException | None) -> bool:
    """Whether an exception means the database could not be reached."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, ConnectionError | TimeoutError | OSError)


def is_unexpected(error: GraphQLError) -> bool:
    """An error that did not come from our coded errors or from GraphQL itself."""
    original = error.original_error
    return original is not None and not isinstance(original, RequestError | GraphQLError)


def masked(error: GraphQLError) -> tuple[str, ErrorCode]:
    """What a client may learn of an unexpected error: a generic message and its code."""
    if is_unavailable(error.original_error):
        return UNAVAILABLE_MESSAGE, ErrorCode.SERVICE_UNAVAILABLE
    return INTERNAL_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR


def mask_in_place(error: GraphQLError) -> None:
    """Mask an unexpected error that may never pass CodedErrors (one raised by an extension
    before execution); its original stays attached for the log."""
    message, code = masked(error)
    error.message = message
    error.extensions = {"code": str(code)}


def _code_for(error: GraphQLError) -> ErrorCode:
    if isinstance(error, GraphQLSyntaxError):
        if TOKEN_LIMIT_MARKER in error.message:
            return ErrorCode.QUERY_TOO_COMPLEX
        return ErrorCode.GRAPHQL_PARSE_FAILED
    if error.message.startswith("Variable '$"):
        return ErrorCode.BAD_USER_INPUT
    return ErrorCode.GRAPHQL_VALIDATION_FAILED


class Telemetry(SchemaExtension):
    """Tells the request's record (its log line and metrics) the operation and the codes
    of its errors, once they are final (this extension comes first, so it exits last)."""

    def on_operation(self) -> Iterator[None]:
        """Record what the operation was and how it ended."""
        yield
        record = current_request.get()
        if record is None:
            return
        execution = self.execution_context
        record.operation_name = execution.operation_name
        with contextlib.suppress(Exception):  # no operation type without a parsed document
            record.operation_type = execution.operation_type.value
        errors = getattr(execution.result, "errors", None) or []
        record.error_codes = [str((error.extensions or {}).get("code", "")) for error in errors]


class OperationKind(SchemaExtension):
    """Prepares the context before any resolver runs: the kind of operation, and the caller
    when a token came with the request."""

    async def on_execute(self) -> AsyncIterator[None]:
        """Mark mutations, so that their SQLite transactions take the write lock up front;
        refuse a bad token even when only public fields are asked for."""
        context = self.execution_context.context
        if self.execution_context.operation_type == OperationType.MUTATION:
            context.is_mutation = True
        if getattr(context, "authorization", None):
            await context.viewer()
        yield


class CodedErrors(MaskErrors):
    """Every error gets `extensions.code`; unexpected ones are masked (the log has them)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=INTERNAL_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        """A generic message and code: no exception text, SQL or DSN reaches the client."""
        message, code = masked(error)
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": str(code)},
        )

    def process(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        """The errors as a client may see them (for results made outside an operation)."""
        return self._process_errors(errors)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            if error.extensions is None:
                error.extensions = {}
            error.extensions.setdefault("code", str(_code_for(error)))
        return processed


class QueryLimits(SchemaExtension):
    """Applies the configured limits (and, in production, no introspection) to every
    operation, subscriptions included, before it executes; parses and validates each
    distinct document once. Reports the operation's cost (`extensions.cost`: the cost the
    limits measure) and charges it to the caller's cost budget before anything executes."""

    report: CostReport
    subscription = False

    def on_operation(self) -> Iterator[None]:
        """Cap the parser's tokens; choose the validation rules."""
        execution = self.execution_context
        # A context without settings (a bare schema.execute) gets the defaults.
        settings: Settings = getattr(execution.context, "settings", None) or DEFAULTS
        self.limits = Limits.of(settings)
        # A transport's note for this operation (WebSocket operations, cached reads).
        self.report = current_cost_report() or CostReport()
        execution.parse_options["max_tokens"] = self.limits.tokens
        execution.validation_rules = (*execution.validation_rules, *rules_for(settings))
        yield

    def on_parse(self) -> Iterator[None]:
        """A document seen before is not parsed again."""
        execution = self.execution_context
        if execution.query and execution.graphql_document is None:
            # A syntax error is left to Strawberry's own parse, which reports it.
            with contextlib.suppress(GraphQLError):
                execution.graphql_document = parse_document(execution.query, self.limits.tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        """Directives first (one error for an overloaded document), then the
        specification's rules (cached per document, at most MAX_VALIDATION_ERRORS errors),
        then the limits (per request: a page size may come from a variable)."""
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None and execution.query and execution.pre_execution_errors is None:
            schema = compat.core_schema(execution.schema)
            errors = directive_errors(execution.query, document, self.limits)
            if not errors:
                errors = validate_cached(
                    schema, execution.query, document, execution.validation_rules
                )
                valid = not errors
                measured = measure_operations(schema, document, execution.variables or {})
                errors += over_limits(measured, self.limits)
                picked = executed(measured, execution.operation_name) if valid else None
                if picked is not None:
                    operation, measure = picked
                    self.report.cost = {"requestedQueryCost": measure.cost}
                    self.subscription = operation.operation == CoreOperationType.SUBSCRIPTION
            execution.pre_execution_errors = errors
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        """Charge the operation's cost to the caller's budget (the user's, else the
        address's); over budget, nothing executes and the answer is RATE_LIMITED with
        `retryAfter`. (After OperationKind: the caller is known by then.)"""
        execution = self.execution_context
        context = execution.context
        budget = getattr(context, "cost_budget", None)
        cost = self.report.cost
        if budget is not None and budget.enabled and cost is not None:
            viewer = await context.viewer()
            caller = caller_key(viewer.user.id if viewer is not None else None, context.client.ip)
            requested = cost["requestedQueryCost"]
            status, retry_after = budget.charge(caller, requested)
            cost["throttleStatus"] = status
            if retry_after is not None:
                refusal = over_budget(requested, status, retry_after)
                if self.subscription:
                    raise refusal  # Strawberry answers it as the subscription's first result
                # A result set here stands for the execution, which never starts.
                execution.result = GraphQLExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            refusal.message, original_error=refusal, extensions=refusal.extensions
                        )
                    ],
                )
        yield

    def get_results(self) -> dict[str, Any]:
        """`extensions.cost` of every answer; of a subscription's first message only."""
        report = getattr(self, "report", None)
        if report is None or report.cost is None:
            return {}
        if self.subscription:
            return report.take() or {}
        report.sent = True
        return {"cost": report.cost}
