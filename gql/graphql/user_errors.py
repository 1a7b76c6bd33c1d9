"""The `UserError` interface: the expected failures that mutations return as data, and the
one place where a domain error becomes one (`returns_user_errors`)."""

import functools
import typing
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, ParamSpec, Self, TypeVar

import strawberry

from gql.core.errors import DomainError, EntityNotFound, InvalidInput, Throttled

P = ParamSpec("P")
R = TypeVar("R")


@strawberry.interface(
    description="An expected failure of a mutation; `field` names the input at fault, if any."
)
class UserError:
    code: str = strawberry.field(
        description="Machine-readable reason, fixed for each error type (such as `NOT_FOUND`): "
        "branch on it or on `__typename`, never on `message`."
    )
    message: str = strawberry.field(
        description="What went wrong, in English for people to read; its wording may change."
    )
    field: str | None = strawberry.field(
        description="The argument or input field at fault, by name or path (such as `sku` or "
        "`lines[0].quantity`); null when no single input is."
    )
    # The domain errors (and their subclasses) this type is the answer to.
    answers: ClassVar[tuple[type[DomainError], ...]] = ()

    @classmethod
    def of(cls, error: DomainError) -> Self:
        """The GraphQL form of a domain error."""
        return cls(code=error.code, message=error.message, field=error.field)

    @classmethod
    async def answer(cls, error: DomainError, info: strawberry.Info[Any, Any]) -> Self:
        """The answer to `error` for the caller of `info` (types that show the caller
        only what they may see override it)."""
        return cls.of(error)


@strawberry.type(
    description="An input value breaks a rule (length, range, format); code `VALIDATION_ERROR`."
)
class ValidationError(UserError):
    answers = (InvalidInput,)


@strawberry.type(
    description="The record named by an id does not exist, or the caller may not see it; code "
    "`NOT_FOUND`."
)
class NotFoundError(UserError):
    answers = (EntityNotFound,)


@strawberry.type(
    description="Too many attempts of this kind (failed logins or password checks, refused "
    "orders); retry after `retryAfter` seconds. Code `RATE_LIMITED`."
)
class RateLimitedError(UserError):
    retry_after: int = strawberry.field(description="Seconds until a retry may succeed.")
    answers = (Throttled,)

    @classmethod
    def of(cls, error: DomainError) -> Self:
        """The GraphQL form of a throttled attempt."""
        retry_after = error.retry_after if isinstance(error, Throttled) else 1
        return cls(
            code=error.code, message=error.message, field=error.field, retry_after=retry_after
        )


def result_members(result: Any) -> tuple[type, ...]:
    """The types of a mutation's result (`Annotated[A | B, strawberry.union(...)]`)."""
    union = typing.get_args(result)[0] if typing.get_origin(result) is typing.Annotated else result
    return typing.get_args(union) or (union,)


def answer_types(members: tuple[type, ...]) -> dict[type[DomainError], type[UserError]]:
    """Which member answers which domain error; two answering one is a mistake."""
    answering: dict[type[DomainError], type[UserError]] = {}
    for member in members:
        if isinstance(member, type) and issubclass(member, UserError):
            for error in member.answers:
                if error in answering:
                    raise TypeError(f"{answering[error]} and {member} both answer {error}")
                answering[error] = member
    return answering


def returns_user_errors(
    resolver: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """A mutation resolver whose domain errors become the member of its result union that
    answers them (its `answers`); any other error goes on as it was."""
    answering: dict[type[DomainError], type[UserError]] | None = None

    @functools.wraps(resolver)
    async def resolve(*args: P.args, **kwargs: P.kwargs) -> R:
        nonlocal answering
        try:
            return await resolver(*args, **kwargs)
        except DomainError as error:
            if answering is None:
                hints = typing.get_type_hints(resolver, include_extras=True)
                answering = answer_types(result_members(hints["return"]))
            member = next((answering[t] for t in type(error).__mro__ if t in answering), None)
            if member is None:
                raise
            answer: R = await member.answer(error, kwargs["info"])  # type: ignore[arg-type,assignment]
            return answer

    return resolve
