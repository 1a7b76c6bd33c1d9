"""Every error member of a mutation's result union is reachable: its resolver turns domain
errors into user errors in the one shared way, and some domain error answers to each."""

import typing

import pytest

from gql.core.errors import DomainError, InvalidInput
from gql.graphql.schema import Mutation
from gql.graphql.user_errors import (
    NotFoundError,
    UserError,
    ValidationError,
    answer_types,
    result_members,
    returns_user_errors,
)

FIELDS = Mutation.__strawberry_definition__.fields  # type: ignore[attr-defined]


@pytest.mark.parametrize("field", FIELDS, ids=[f.python_name for f in FIELDS])
def test_each_error_member_answers_a_domain_error(field: typing.Any) -> None:
    resolver = field.base_resolver.wrapped_func
    result = typing.get_type_hints(resolver, include_extras=True)["return"]
    members = result_members(result)
    errors = [m for m in members if isinstance(m, type) and issubclass(m, UserError)]
    if not errors:
        return
    # then: the resolver maps domain errors, and each member answers at least one of them
    assert hasattr(resolver, "__wrapped__"), f"{field.python_name} is not @returns_user_errors"
    answering = answer_types(members)
    for member in errors:
        assert member.answers, f"{member.__name__} answers no domain error"
        assert all(answering[error] is member for error in member.answers)


class Unmapped(DomainError):
    """No member of the union below answers it."""


Result = typing.Annotated[ValidationError | NotFoundError, "a union"]


async def test_an_unmapped_domain_error_goes_on_as_it_was() -> None:
    @returns_user_errors
    async def failing(info: object, error: DomainError) -> Result:
        raise error

    answer = await failing(info=None, error=InvalidInput("bad", field="x"))
    assert (type(answer), answer.field) == (ValidationError, "x")
    with pytest.raises(Unmapped):
        await failing(info=None, error=Unmapped("no answer"))
