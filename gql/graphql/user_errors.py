"""The `UserError` interface: the expected failures that mutations return as data."""

from typing import Self

import strawberry

from gql.core.errors import DomainError, Throttled


@strawberry.interface(
    description="An expected failure of a mutation; `field` names the input at fault, if any."
)
class UserError:
    code: str
    message: str
    field: str | None

    @classmethod
    def of(cls, error: DomainError) -> Self:
        """The GraphQL form of a domain error."""
        return cls(code=error.code, message=error.message, field=error.field)


@strawberry.type(description="An input value breaks a rule (length, range, format).")
class ValidationError(UserError):
    pass


@strawberry.type(description="The record named by an id does not exist.")
class NotFoundError(UserError):
    pass


@strawberry.type(
    description="Too many attempts of this kind (failed logins or password checks, refused "
    "orders); retry after `retryAfter` seconds."
)
class RateLimitedError(UserError):
    retry_after: int = strawberry.field(description="Seconds until a retry may succeed.")

    @classmethod
    def of(cls, error: DomainError) -> Self:
        """The GraphQL form of a throttled attempt."""
        retry_after = error.retry_after if isinstance(error, Throttled) else 1
        return cls(
            code=error.code, message=error.message, field=error.field, retry_after=retry_after
        )
