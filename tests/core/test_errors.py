"""Error model: codes on every error, unexpected failures masked, the log keeps the detail."""

import logging

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog import listing
from gql.core.db import Database
from tests.conftest import execute
from tests.factories import gid, make_product, signed_in

SECRET = "postgresql://admin:hunter2@db.internal/prod"


async def test_unexpected_exception_is_masked_and_logged(
    general_client: httpx.AsyncClient,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given: a resolver whose service blows up with a secret in its message
    product = await make_product(session, "BOOM")

    async def explode(*_: object, **__: object) -> None:
        raise RuntimeError(f"cannot SELECT * FROM product via {SECRET}")

    monkeypatch.setattr(listing, "get_product", explode)
    # when
    with caplog.at_level(logging.ERROR, logger="gql.errors"):
        response = await general_client.post(
            "/graphql",
            json={"query": f'{{ product(id: "{gid("Product", product.id)}") {{ name }} }}'},
        )
    # then
    assert response.status_code == 200
    assert SECRET not in response.text
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert SECRET in caplog.text
    assert "Traceback" in caplog.text


async def test_database_failure_is_service_unavailable(
    general_client: httpx.AsyncClient, db: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    async def down(*_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError(f"{SECRET} refused"))

    monkeypatch.setattr(listing, "list_products", down)
    response = await general_client.post("/graphql", json={"query": "{ products { totalCount } }"})
    assert SECRET not in response.text
    assert response.json()["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE"}


async def test_syntax_and_validation_errors_have_codes(client: httpx.AsyncClient) -> None:
    syntax = await client.post("/graphql", json={"query": "{ products { "})
    assert syntax.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    unknown = await client.post("/graphql", json={"query": "{ nope }"})
    assert unknown.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_bad_variable_is_bad_user_input(client: httpx.AsyncClient) -> None:
    body = await execute(
        client, "query($first: Int) { products(first: $first) { totalCount } }", {"first": "x"}
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_field_error_beside_running_dataloader_batches_ends_the_request_cleanly(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    # given: a root field that fails at once next to fields whose DataLoader batches are
    # still querying when GraphQL cancels them
    await make_product(session, "RACE")
    admin = await signed_in(client, db, "admin@example.com", "admin")
    document = """
    { me { permissions } permissions { description }
      stockMovements(first: 0, after: "") { totalCount } }
    """
    # when: sent often enough to land in the middle of a batch (timing decides where)
    responses = [
        await client.post("/graphql", json={"query": document}, headers=admin) for _ in range(60)
    ]
    # then: each answer is the field's own error; the session was not closed under a query
    for response in responses:
        assert response.status_code == 200
        assert response.json()["data"] is None
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]
