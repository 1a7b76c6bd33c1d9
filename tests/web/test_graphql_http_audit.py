"""GraphQL over HTTP conformance: the npm graphql-http audit suite against a live server, and
the status codes of application/graphql-response+json checked directly."""

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, without_cost
from tests.servers import ServerProcess

GRAPHQL_RESPONSE = "application/graphql-response+json"
# Production turns introspection off, and this audit asks `__type(name: $name)` to check that
# a map of variables is accepted; the same audit with only `__typename` passes (see below).
NEEDS_INTROSPECTION = {
    "28B9": "MUST allow map {variables} parameter when accepting application/json",
    "2EA1": "SHOULD allow map {variables} parameter when accepting application/graphql-response+json",
}


async def _audit(node_clients: Path, url: str) -> list[dict[str, Any]]:
    """The results of graphql-http's auditServer against `url`."""
    # Asynchronous: the in-process live server answers on this test's event loop.
    process = await asyncio.create_subprocess_exec(
        "node",
        str(node_clients / "audit.mjs"),
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()[-2000:]
    results: list[dict[str, Any]] = json.loads(stdout)
    assert len(results) > 50  # the whole suite ran
    return results


def _failed(results: list[dict[str, Any]], level: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in results if r["name"].startswith(level) and r["status"] != "ok"}


def _response_type_shoulds(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if r["name"].startswith("SHOULD") and GRAPHQL_RESPONSE in r["name"]]


async def test_the_audit_finds_no_failing_must_or_should(
    node_clients: Path, live_server: LiveServer
) -> None:
    # when
    results = await _audit(node_clients, f"{live_server.http_url}/graphql")
    # then
    assert _failed(results, "MUST") == {}
    assert _failed(results, "SHOULD") == {}
    assert len(_response_type_shoulds(results)) >= 15


async def test_in_production_only_the_musts_that_need_introspection_fail(
    node_clients: Path, database_url: str
) -> None:
    # given: `gql serve` as deployed, rate limiting on at its default budget
    server = ServerProcess(
        {
            "ENV": "production",
            "JWT_SECRET": secrets.token_hex(32),
            "DATABASE_URL": database_url,
            "RATE_LIMIT_REQUESTS": "600",
            "LOG_LEVEL": "WARNING",
        }
    ).start()
    try:
        # when
        results = await _audit(node_clients, f"{server.url}/graphql")
        async with httpx.AsyncClient(base_url=server.url) as client:
            with_variables = await client.post(
                "/graphql",
                json={
                    "query": "query Named($id: ID!) { product(id: $id) { id } }",
                    "variables": {"id": "404"},
                },
            )
    finally:
        server.stop()
    # then
    assert set(_failed(results, "MUST")) == {"28B9"}
    assert set(_failed(results, "SHOULD")) == {"2EA1"}
    for audit_id, name in NEEDS_INTROSPECTION.items():
        failure = next(r for r in results if r["id"] == audit_id)
        assert failure["name"] == name
        assert "introspection has been disabled" in failure["body"]
    assert with_variables.status_code == 200
    assert without_cost(with_variables.json()) == {"data": {"product": None}}


REQUEST_ERRORS = {
    "parse": ({"query": "{ products {"}, "GRAPHQL_PARSE_FAILED"),
    "validation": ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
    "coercion": (
        {"query": "query($id: ID!) { product(id: $id) { id } }", "variables": {"id": [1]}},
        "BAD_USER_INPUT",
    ),
}


@pytest.mark.parametrize("request_error", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_request_errors_are_400_in_graphql_response_json(
    client: httpx.AsyncClient, request_error: tuple[dict[str, Any], str]
) -> None:
    # given
    body, code = request_error
    # when
    response = await client.post("/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE})
    # then
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == code


@pytest.mark.parametrize("request_error", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_request_errors_are_200_in_plain_json(
    client: httpx.AsyncClient, request_error: tuple[dict[str, Any], str]
) -> None:
    # given
    body, code = request_error
    # when
    response = await client.post("/graphql", json=body, headers={"Accept": "application/json"})
    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == code


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"application/json;q=0.9, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, application/json", "application/json"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ],
)
async def test_a_result_comes_in_the_media_type_the_client_prefers(
    client: httpx.AsyncClient, accept: str | None, media_type: str
) -> None:
    # given
    headers = {} if accept is None else {"Accept": accept}
    # when
    response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    # then
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


async def test_bad_credentials_are_401_in_graphql_response_json(
    client: httpx.AsyncClient,
) -> None:
    # when
    response = await client.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={"Accept": GRAPHQL_RESPONSE, "Authorization": "Bearer not-a-token"},
    )
    # then
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
