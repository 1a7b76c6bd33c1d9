"""Error codes, request-level errors and the domain errors that mutations return as data."""

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Codes carried in `errors[].extensions.code`."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    SLOW_CONSUMER = "SLOW_CONSUMER"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # Apollo's automatic persisted queries: send the query text along with its hash.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    # A safelist of operations is in force, and this one is not on it.
    PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"


class RequestError(Exception):
    """A failure reported in `errors[]` with a code; its message reaches the client as is."""

    code: ErrorCode = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        # graphql-core copies `extensions` of the original exception onto the GraphQL error.
        self.extensions: dict[str, Any] = {"code": str(self.code), **extra}
        if field is not None:
            self.extensions["field"] = field


class BadUserInput(RequestError):
    """An argument the server cannot accept."""

    code = ErrorCode.BAD_USER_INPUT


class Unauthenticated(RequestError):
    """No valid credentials came with the request."""

    code = ErrorCode.UNAUTHENTICATED


class Forbidden(RequestError):
    """The caller is known but may not do this."""

    code = ErrorCode.FORBIDDEN


class ServiceUnavailable(RequestError):
    """A dependency (the database) cannot be reached right now."""

    code = ErrorCode.SERVICE_UNAVAILABLE


class DomainError(Exception):
    """An expected outcome of a mutation: returned as a `UserError` member of its result."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """A value breaks a rule of the domain (length, range, format)."""

    code = "VALIDATION_ERROR"


class EntityNotFound(DomainError):
    """The record named by an id does not exist (or is not visible to the caller)."""

    code = "NOT_FOUND"


class Throttled(DomainError):
    """Too many attempts of a kind that is budgeted (failed logins, refused orders)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
