"""Automatic persisted queries (Apollo's protocol): a hash instead of the query text."""

import hashlib
import json
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import StatementCounter
from tests.factories import make_product

QUERY = "{ products(first: 5) { edges { node { sku name } } } }"
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()


def _persisted(digest: str = DIGEST, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


async def test_an_unknown_hash_asks_for_the_text_without_touching_the_database(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    # when
    statements.reset()
    response = await client.post("/graphql", json={"extensions": _persisted()})
    # then
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert statements.count == 0


async def test_after_one_request_with_the_text_the_hash_is_enough(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given
    await make_product(session, "A")
    registered = await client.post("/graphql", json={"query": QUERY, "extensions": _persisted()})
    # when
    by_hash = await client.post("/graphql", json={"extensions": _persisted()})
    by_get = await client.get(
        "/graphql", params={"extensions": json.dumps(_persisted())}
    )  # development mode allows GET queries
    # then
    assert registered.json()["data"]["products"]["edges"][0]["node"]["sku"] == "A"
    assert by_hash.json() == registered.json()
    assert by_get.json() == registered.json()


async def test_a_text_that_does_not_match_its_hash_is_refused(
    client: httpx.AsyncClient,
) -> None:
    wrong = hashlib.sha256(b"{ __typename }").hexdigest()
    response = await client.post("/graphql", json={"query": QUERY, "extensions": _persisted(wrong)})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # and the wrong hash was not learnt
    again = await client.post("/graphql", json={"extensions": _persisted(wrong)})
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_other_versions_and_malformed_hashes_are_refused(
    client: httpx.AsyncClient,
) -> None:
    for extensions in (_persisted(version=2), _persisted("ABC"), _persisted(DIGEST.upper())):
        response = await client.post("/graphql", json={"query": QUERY, "extensions": extensions})
        assert response.status_code == 400, extensions
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_persisted_catalog_reads_are_served_by_the_response_cache(
    client: httpx.AsyncClient, session: AsyncSession, statements: StatementCounter
) -> None:
    await make_product(session, "A")
    await client.post("/graphql", json={"query": QUERY, "extensions": _persisted()})
    first = await client.post("/graphql", json={"extensions": _persisted()})
    # when
    statements.reset()
    second = await client.post("/graphql", json={"extensions": _persisted()})
    # then: only the catalog versions were read
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert statements.count == 1, statements.statements
