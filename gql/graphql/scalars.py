"""Scalars whose parse errors tell the client what the value should look like."""

import decimal
import json
from typing import Any

import strawberry
from graphql import GraphQLError, ValueNode, print_ast, value_from_ast_untyped
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

DECIMAL_FORMAT = 'Expected a decimal string like "19.99"'


def parse_decimal(value: object) -> decimal.Decimal:
    """A Decimal from a string (or, as before, a JSON number); anything else is refused."""
    # A GraphQL error, not a ValueError: graphql-core reports it as the client's mistake
    # (BAD_USER_INPUT for variables, GRAPHQL_VALIDATION_FAILED for literals) instead of
    # an unexpected failure.
    if not isinstance(value, bool) and isinstance(value, str | int | float):
        try:
            return decimal.Decimal(str(value))
        except decimal.DecimalException:
            pass
    shown = json.dumps(value, default=repr)
    raise StrawberryInputCoercionError(f"{DECIMAL_FORMAT}, found {shown}.")


def parse_decimal_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    """A Decimal from a literal in the document; the error points at the literal."""
    try:
        return parse_decimal(value_from_ast_untyped(node, variables))
    except StrawberryInputCoercionError:
        raise GraphQLError(f"{DECIMAL_FORMAT}, found {print_ast(node)}.", node) from None


DecimalScalar: ScalarDefinition = strawberry.scalar(
    name="Decimal",
    description='An exact decimal number, sent as a string such as "19.99" (never a float); '
    "inputs also accept a JSON number. Money has no currency code: every amount is in the "
    "shop's one currency.",
    serialize=str,
    parse_value=parse_decimal,
    parse_literal=parse_decimal_literal,
)
# For StrawberryConfig(scalar_map=...): replaces Strawberry's built-in Decimal.
SCALAR_MAP: dict[object, ScalarDefinition] = {decimal.Decimal: DecimalScalar}
