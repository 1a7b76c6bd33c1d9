"""Schema extensions: operation kind, error codes and masking of unexpected errors."""

import logging
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types.graphql import OperationType

from gql.errors import ErrorCode, RequestError

logger = logging.getLogger("gql.errors")

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


def _code_for(error: GraphQLError) -> ErrorCode:
    if isinstance(error, GraphQLSyntaxError):
        return ErrorCode.GRAPHQL_PARSE_FAILED
    if error.message.startswith("Variable '$"):
        return ErrorCode.BAD_USER_INPUT
    return ErrorCode.GRAPHQL_VALIDATION_FAILED


class OperationKind(SchemaExtension):
    """Tells the context whether it serves a mutation, before any resolver runs."""

    def on_execute(self) -> Iterator[None]:
        """Mark mutations, so that their SQLite transactions take the write lock up front."""
        context = self.execution_context.context
        if self.execution_context.operation_type == OperationType.MUTATION:
            context.is_mutation = True
        yield


class CodedErrors(MaskErrors):
    """Every error gets `extensions.code`; unexpected ones are masked (the log has them)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=INTERNAL_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        """A generic message and code: no exception text, SQL or DSN reaches the client."""
        unavailable = is_unavailable(error.original_error)
        return GraphQLError(
            message=UNAVAILABLE_MESSAGE if unavailable else INTERNAL_MESSAGE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={
                "code": str(
                    ErrorCode.SERVICE_UNAVAILABLE
                    if unavailable
                    else ErrorCode.INTERNAL_SERVER_ERROR
                )
            },
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            if error.extensions is None:
                error.extensions = {}
            error.extensions.setdefault("code", str(_code_for(error)))
        return processed
