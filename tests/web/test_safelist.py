"""Persisted queries in safelist mode: only the operations registered at deploy time run,
by hash or by text, over HTTP and WebSockets; `off` does not look hashes up."""

import hashlib
import json
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from tests.conftest import ServerFactory, make_settings, without_cost
from tests.ws import GraphQLWebSocket

LISTED = "query Listed { products(first: 1) { totalCount } }"
OTHER = "{ __typename }"


def _digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def _extensions(query: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": _digest(query)}}


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """An Apollo persisted query manifest with one operation."""
    path = tmp_path / "manifest.json"
    operation = {"id": _digest(LISTED), "body": LISTED, "name": "Listed", "type": "query"}
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [operation]}
        )
    )
    return path


async def test_only_listed_operations_run(
    manifest: Path, db: Database, settings: Settings, auth_tools: AuthTools
) -> None:
    # given
    configured = make_settings(
        settings.database_url, persisted_queries="safelist", persisted_queries_safelist=manifest
    )
    app = create_app(configured, database=db, auth=auth_tools)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # when
        by_hash = await client.post("/graphql", json={"extensions": _extensions(LISTED)})
        by_text = await client.post("/graphql", json={"query": LISTED})
        unlisted_text = await client.post("/graphql", json={"query": OTHER})
        unlisted_hash = await client.post("/graphql", json={"extensions": _extensions(OTHER)})
        mismatched = await client.post(
            "/graphql", json={"query": OTHER, "extensions": _extensions(LISTED)}
        )
    # then
    for allowed in (by_hash, by_text):
        assert without_cost(allowed.json()) == {"data": {"products": {"totalCount": 0}}}
    for refused in (unlisted_text, unlisted_hash):
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert mismatched.status_code == 400


async def test_websocket_operations_are_held_to_the_safelist(
    manifest: Path, server_with: ServerFactory
) -> None:
    server = await server_with(persisted_queries="safelist", persisted_queries_safelist=manifest)
    async with GraphQLWebSocket(server.ws_url) as ws:
        await ws.subscribe("listed", LISTED)
        assert (await ws.receive_for("listed"))["type"] == "next"
        await ws.subscribe("other", OTHER)
        refused = await ws.receive_for("other")
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"


def test_safelist_mode_needs_its_file() -> None:
    with pytest.raises(ValidationError, match="PERSISTED_QUERIES_SAFELIST"):
        make_settings("sqlite+aiosqlite://", persisted_queries="safelist")


async def test_off_does_not_look_hashes_up(
    db: Database, settings: Settings, auth_tools: AuthTools
) -> None:
    configured = make_settings(settings.database_url, persisted_queries="off")
    app = create_app(configured, database=db, auth=auth_tools)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.post("/graphql", json={"query": OTHER, "extensions": _extensions(OTHER)})
        answer = await client.post("/graphql", json={"extensions": _extensions(OTHER)})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
