"""CSRF defences, security headers, CORS and request ids on every response."""

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from gql.auth.sessions import AuthTools
from gql.catalog.models import Product
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from tests.conftest import (
    LiveServer,
    ServerFactory,
    StatementCounter,
    make_settings,
    without_cost,
)
from tests.factories import signed_in
from tests.ws import GraphQLWebSocket

CREATE = (
    'mutation { createProduct(input: {sku: "CSRF", name: "Forged", price: "1.00"}) { __typename } }'
)


async def _products(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Product)) or 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", f"query={CREATE}"),
        ("text/plain", f'{{"query": "{CREATE}"}}'),
        (
            "multipart/form-data; boundary=x",
            f'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{CREATE}\r\n--x--',
        ),
        (None, f'{{"query": "{CREATE}"}}'),
    ],
)
async def test_posts_that_are_not_json_are_refused_before_execution(
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
    statements: StatementCounter,
    content_type: str | None,
    body: str,
) -> None:
    # given: a signed-in product manager's token, as a forged cross-site request could carry
    staff = await signed_in(client, db, "staff@example.com", "staff")
    headers = dict(staff)
    if content_type is not None:
        headers["content-type"] = content_type
    statements.reset()
    # when
    response = await client.post("/graphql", content=body.encode(), headers=headers)
    # then: refused (a form without the preflight header an upload must carry: 400)
    multipart = (content_type or "").startswith("multipart/")
    assert response.status_code == (400 if multipart else 415)
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert statements.count == 0
    assert await _products(session) == 0


async def test_json_with_a_charset_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ products { totalCount } }"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert without_cost(response.json()) == {"data": {"products": {"totalCount": 0}}}


async def test_mutations_over_get_are_refused(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    staff = await signed_in(client, db, "staff@example.com", "staff")
    response = await client.get("/graphql", params={"query": CREATE}, headers=staff)
    assert response.status_code in (400, 405)
    assert await _products(session) == 0
    # queries over GET still work in development
    query = await client.get("/graphql", params={"query": "{ products { totalCount } }"})
    assert without_cost(query.json()) == {"data": {"products": {"totalCount": 0}}}


async def test_security_headers_on_api_responses(client: httpx.AsyncClient) -> None:
    for response in (
        await client.post("/graphql", json={"query": "{ products { totalCount } }"}),
        await client.get("/healthz"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )
        assert "strict-transport-security" not in response.headers


async def test_the_graphiql_page_has_its_own_csp(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    policy = page.headers["content-security-policy"]
    assert "script-src" in policy and "frame-ancestors 'none'" in policy


async def test_hsts_when_the_request_came_over_https(app: object) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://api.test") as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_answers_only_allowlisted_origins(
    db: Database, settings: Settings, auth_tools: AuthTools
) -> None:
    # given
    configured = make_settings(settings.database_url, cors_origins="https://shop.example")
    app = create_app(configured, database=db, auth=auth_tools)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # when
        allowed = await client.options(
            "/graphql",
            headers={
                "origin": "https://shop.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, authorization",
            },
        )
        other = await client.options(
            "/graphql",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
        simple = await client.post(
            "/graphql",
            json={"query": "{ products { totalCount } }"},
            headers={"origin": "https://evil.example"},
        )
    # then
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_request_ids_are_honoured_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"x-request-id": "req-42.a:b"})
    made = await client.get("/healthz")
    junk = await client.get("/healthz", headers={"x-request-id": "no spaces\tor tabs"})
    assert given.headers["x-request-id"] == "req-42.a:b"
    assert len(made.headers["x-request-id"]) == 32
    assert junk.headers["x-request-id"] != "no spaces\tor tabs"


MALFORMED_BODIES = {
    "nested 5,000 deep": b"[" * 5000 + b"]" * 5000,
    "variables nested 5,000 deep": b'{"query": "{ __typename }", "variables": '
    + b'{"a": ' * 5000
    + b"1"
    + b"}" * 5000
    + b"}",
    "null": b"null",
    "a string": b'"{ __typename }"',
    "a number": b"5",
    "not UTF-8": b'{"query": "\xff\xfe"}',
    "a 5,000-digit integer": b'{"query": "{ __typename }", "variables": {"n": '
    + b"9" * 5000
    + b"}}",
    "query not a string": b'{"query": 5}',
    "variables a list": b'{"query": "{ __typename }", "variables": [1]}',
    "no query": b"{}",
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
async def test_a_malformed_body_is_a_coded_400(body: bytes, live_server: LiveServer) -> None:
    # when: sent over a real socket (a 500 reset the connection)
    async with httpx.AsyncClient(base_url=live_server.http_url) as client:
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        # then
        assert response.status_code == 400
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        # and the connection serves the next request
        after = await client.post("/graphql", json={"query": "{ __typename }"})
        assert without_cost(after.json()) == {"data": {"__typename": "Query"}}


async def test_websockets_from_allowed_origins_are_accepted(server_with: ServerFactory) -> None:
    # given: an API that a shop's pages on another origin may call
    server = await server_with(cors_origins=["https://shop.example"])
    # when / then: that origin may open a socket, another may not
    async with GraphQLWebSocket(server.ws_url, origin=Origin("https://shop.example")):
        pass
    with pytest.raises(InvalidStatus) as refused:
        async with GraphQLWebSocket(server.ws_url, origin=Origin("https://evil.example")):
            pass
    assert refused.value.response.status_code == 403
