"""Malformed scalar values: the message names the expected format."""

import httpx
import pytest

from gql.core.db import Database
from tests.conftest import execute
from tests.factories import signed_in

CREATE_LITERAL = """
mutation {{ createProduct(input: {{sku: "A", name: "B", price: {price}}}) {{ __typename }} }}
"""
CREATE = """
mutation Create($input: CreateProductInput!) { createProduct(input: $input) { __typename } }
"""
FILTER = "query Filter($min: Decimal) { products(filter: {minPrice: $min}) { totalCount } }"
EXPECTED = 'Expected a decimal string like "19.99"'


@pytest.fixture
async def client(client: httpx.AsyncClient, db: Database) -> httpx.AsyncClient:
    """A client signed in as staff (who hold `product:write`)."""
    client.headers.update(await signed_in(client, db, "staff@example.com", "staff"))
    return client


@pytest.mark.parametrize("price", ['"abc"', '"1.2.3"', '""', "true", '["1"]'])
async def test_malformed_decimal_literal_names_the_format(
    client: httpx.AsyncClient, price: str
) -> None:
    # given
    document = CREATE_LITERAL.format(price=price)
    column = document.splitlines()[1].index(price) + 1
    # when
    body = await execute(client, document)
    # then: still a validation failure of the document, now with the expected format and
    # the position of the literal
    assert body.get("data") is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == f"{EXPECTED}, found {price}."
    assert error["locations"] == [{"line": 2, "column": column}]


@pytest.mark.parametrize("price", ["abc", "", True, {"amount": "1"}])
async def test_malformed_decimal_variable_names_field_and_format(
    client: httpx.AsyncClient, price: object
) -> None:
    # when
    body = await execute(client, CREATE, {"input": {"sku": "A", "name": "B", "price": price}})
    filtered = await execute(client, FILTER, {"min": price})
    # then
    for result in (body, filtered):
        error = result["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert EXPECTED in error["message"]
    assert ".price" in body["errors"][0]["message"]


async def test_decimals_still_parse_and_serialize(client: httpx.AsyncClient) -> None:
    # when
    body = await execute(
        client,
        'mutation { createProduct(input: {sku: "A", name: "B", price: "19.90"}) '
        "{ ... on CreateProductSuccess { product { price } } } }",
    )
    filtered = await execute(client, FILTER, {"min": "19.9"})
    # then
    assert body["data"]["createProduct"]["product"]["price"] == "19.90"
    assert filtered["data"]["products"]["totalCount"] == 1
