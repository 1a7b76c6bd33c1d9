"""Abusive documents are refused before a single SQL statement runs."""

from typing import Any

import httpx
import pytest

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from tests.conftest import LiveServer, StatementCounter, execute, make_settings
from tests.factories import signed_in
from tests.ws import GraphQLWebSocket

FIELDS = "id sku name description price inStock createdAt updatedAt"
# 1 + 100 x (edges 1 + node 1 + 8 fields + images 1 + 4 image fields) = 1,501 each.
WIDE_PAGE = f"products(first: 100) {{ edges {{ node {{ {FIELDS} images {{ id url altText position }} }} }} }}"
DEEP = "{ stockMovements { edges { node { order { customer { roles { permissions { name } } } } } } } }"


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def _post(client: httpx.AsyncClient, query: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def small_limits(db: Database, settings: Settings, auth_tools: AuthTools) -> Any:
    """A client of an app configured with low limits (depth 4, aliases 2, tokens 60, cost 50)."""
    configured = make_settings(
        settings.database_url,
        max_query_depth=4,
        max_query_aliases=2,
        max_query_tokens=60,
        max_query_cost=50,
    )
    app = create_app(configured, database=db, auth=auth_tools)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_three_pages_fit_the_default_cost_budget_and_four_do_not(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    # given
    three = "{ " + " ".join(f"p{n}: {WIDE_PAGE}" for n in range(3)) + " }"
    four = "{ " + " ".join(f"p{n}: {WIDE_PAGE}" for n in range(4)) + " }"
    # when
    allowed = await _post(client, three)
    statements.reset()
    refused = await _post(client, four)
    # then
    assert "errors" not in allowed
    assert _codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert "6004" in refused["errors"][0]["message"]
    assert "data" not in refused
    assert statements.count == 0


async def test_the_cost_follows_first_from_variables_too(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    query = (
        "query($n: Int) { "
        + " ".join(
            f"p{k}: products(first: $n) {{ edges {{ node {{ {FIELDS} }} }} }}" for k in range(6)
        )
        + " }"
    )
    small = await _post(client, query, variables={"n": 10})
    statements.reset()
    large = await _post(client, query, variables={"n": 100})
    assert "errors" not in small
    assert _codes(large) == ["QUERY_TOO_COMPLEX"]
    assert statements.count == 0


async def test_more_than_fifteen_aliases_are_refused(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    fifteen = (
        "{ " + " ".join(f"a{n}: products(first: 1) {{ totalCount }}" for n in range(15)) + " }"
    )
    sixteen = (
        "{ " + " ".join(f"a{n}: products(first: 1) {{ totalCount }}" for n in range(16)) + " }"
    )
    assert "errors" not in await _post(client, fifteen)
    statements.reset()
    refused = await _post(client, sixteen)
    assert _codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert statements.count == 0


async def test_aliases_inside_fragments_count_each_time_they_are_spread(
    client: httpx.AsyncClient,
) -> None:
    # given: a fragment with two aliases
    fragment = "fragment Two on Query { x: products(first: 1) { totalCount } y: __typename }"

    def spread(times: int) -> str:
        return "{ " + " ".join(f"s{n}: __typename ...Two" for n in range(times)) + " } " + fragment

    # when / then: 5 + 5 x 2 = 15 aliases pass, 6 + 6 x 2 = 18 do not
    assert "errors" not in await _post(client, spread(5))
    assert _codes(await _post(client, spread(6))) == ["QUERY_TOO_COMPLEX"]


async def test_more_than_two_thousand_tokens_are_refused(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    # `__typename` repeated: few fields of cost, many tokens
    query = "{ " + " ".join(["__typename"] * 2_100) + " }"
    statements.reset()
    body = await _post(client, query)
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    assert statements.count == 0


async def test_depth_limit(small_limits: httpx.AsyncClient, statements: StatementCounter) -> None:
    # depth 4 passes, depth 5 does not (limits of the fixture)
    assert "errors" not in await _post(
        small_limits, "{ products(first: 5) { edges { node { id } } } }"
    )
    statements.reset()
    body = await _post(small_limits, "{ products(first: 5) { edges { node { images { url } } } } }")
    assert "QUERY_TOO_COMPLEX" in _codes(body)
    assert statements.count == 0


async def test_the_default_depth_limit_is_ten(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    # given: the deepest path of the schema is 8 levels; only a document of fields that do
    # not exist can go deeper, and it is refused for its depth as well as for the fields
    ten = "{ a { b { c { d { e { f { g { h { i { j } } } } } } } } } }"
    eleven = ten.replace("{ j }", "{ j { k } }")
    # when
    statements.reset()
    at_the_limit, over_it = await _post(client, ten), await _post(client, eleven)
    # then
    assert "QUERY_TOO_COMPLEX" not in _codes(at_the_limit)
    assert "QUERY_TOO_COMPLEX" in _codes(over_it)
    assert statements.count == 0
    # and the deepest real query runs
    assert _codes(await _post(client, DEEP)) == ["UNAUTHENTICATED"]


async def test_limits_read_from_the_settings(
    small_limits: httpx.AsyncClient, statements: StatementCounter
) -> None:
    three_aliases = (
        "{ a: products { totalCount } b: products { totalCount } c: products { totalCount } }"
    )
    statements.reset()
    assert "QUERY_TOO_COMPLEX" in _codes(await _post(small_limits, three_aliases))
    many_tokens = "{ " + " ".join(["__typename"] * 70) + " }"
    assert _codes(await _post(small_limits, many_tokens)) == ["QUERY_TOO_COMPLEX"]
    costly = "{ products(first: 20) { edges { node { id name price } } } }"  # 1 + 20 x 5
    assert _codes(await _post(small_limits, costly)) == ["QUERY_TOO_COMPLEX"]
    assert statements.count == 0


async def test_repeated_directives_are_refused(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    statements.reset()
    body = await _post(client, "{ products @include(if: true) @include(if: true) { totalCount } }")
    assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert statements.count == 0


async def test_fragment_cycles_are_refused_without_looping(client: httpx.AsyncClient) -> None:
    body = await _post(
        client,
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A products { totalCount } }",
    )
    assert "GRAPHQL_VALIDATION_FAILED" in _codes(body)


async def test_array_batching_is_off(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    statements.reset()
    response = await client.post(
        "/graphql",
        json=[{"query": "{ products { totalCount } }"}, {"query": "{ products { totalCount } }"}],
    )
    assert response.status_code == 400
    assert statements.count == 0


async def test_bodies_over_one_mebibyte_are_413(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    padding = " " * (1024 * 1024)
    statements.reset()
    declared = await client.post(
        "/graphql",
        content=f'{{"query": "{{ products {{ totalCount }} }}{padding}"}}',
        headers={"content-type": "application/json"},
    )

    async def chunks() -> Any:
        yield b'{"query": "{ products { totalCount } }'
        for _ in range(20):
            yield b" " * 65536
        yield b'"}'

    streamed = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert declared.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert statements.count == 0
    # just under the limit is fine
    fits = await client.post(
        "/graphql",
        content=f'{{"query": "{{ products {{ totalCount }} }}{" " * 1000}"}}',
        headers={"content-type": "application/json"},
    )
    assert fits.status_code == 200


async def test_subscriptions_are_limited_too(
    live_server: LiveServer, client: httpx.AsyncClient, db: Database
) -> None:
    staff = await signed_in(client, db, "staff@example.com", "staff")
    token = staff["Authorization"].removeprefix("Bearer ")
    # one root field, as a subscription must have, with sixteen aliases inside
    aliased = "subscription { stockChanged { " + " ".join(f"a{n}: id" for n in range(16)) + " } }"
    async with GraphQLWebSocket(live_server.ws_url, token) as ws:
        await ws.subscribe("s", aliased)
        message = await ws.receive()
    assert message["type"] == "error"
    assert [e["extensions"]["code"] for e in message["payload"]] == ["QUERY_TOO_COMPLEX"]


async def test_overloaded_directives_are_one_error_before_validation(
    client: httpx.AsyncClient,
) -> None:
    for query in (
        "{ __typename " + "@aa" * 10 + " }",
        "{ __typename " + "@aa" * 600 + " }",
        "{ " + " ".join(f"a{n}: __typename @skip(if: false)" for n in range(11)) + " }",
    ):
        # when
        body = await execute(client, query)
        # then
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
        assert "directives" in error["message"]


async def test_validation_errors_are_capped(client: httpx.AsyncClient) -> None:
    # when: a document with 40 unknown fields
    body = await execute(client, "{ " + " ".join(f"nope{n}" for n in range(40)) + " }")
    # then
    assert len(body["errors"]) == 10
    assert body["errors"][-1]["message"] == "31 more validation errors are not shown."
