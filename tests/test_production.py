"""Production mode: no introspection, GraphiQL, suggestions or GET queries; strong secrets."""

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from gql.auth.sessions import AuthTools
from gql.core.config import DEVELOPMENT_JWT_SECRET, Settings
from gql.core.db import Database
from gql.main import create_app
from tests.conftest import execute, make_settings, without_cost

STRONG_SECRET = "k3y-" + "x" * 60
INTROSPECTION = "{ __schema { queryType { name } } }"
TYPO = "{ products { edges { node { nmae } } } }"


@pytest.fixture
async def production(
    db: Database, settings: Settings, auth_tools: AuthTools
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app in production mode."""
    configured = make_settings(settings.database_url, env="production", jwt_secret=STRONG_SECRET)
    app = create_app(configured, database=db, auth=auth_tools)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def test_production_refuses_the_default_or_a_short_secret() -> None:
    for secret in (DEVELOPMENT_JWT_SECRET, "too-short-secret"):
        with pytest.raises(ValidationError, match="JWT_SECRET"):
            Settings(env="production", jwt_secret=secret, _env_file=None)  # type: ignore[call-arg]
    assert Settings(env="production", jwt_secret=STRONG_SECRET, _env_file=None).is_production  # type: ignore[call-arg]


def test_the_server_does_not_start_in_production_with_the_default_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "ENV"))}
    env |= {"ENV": "production", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "gql.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "JWT_SECRET" in done.stderr
    assert "Traceback" not in done.stderr


async def test_introspection_graphiql_and_get_are_off(
    production: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    # when
    introspection = await production.post("/graphql", json={"query": INTROSPECTION})
    page = await production.get("/graphql", headers={"accept": "text/html"})
    get_query = await production.get("/graphql", params={"query": "{ products { totalCount } }"})
    docs = await production.get("/docs")
    # then
    assert introspection.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection" in introspection.json()["errors"][0]["message"].lower()
    assert page.status_code == 404
    assert get_query.status_code in (400, 405)
    assert "data" not in get_query.text
    assert docs.status_code == 404
    # while development keeps them all
    assert "__schema" in (await client.post("/graphql", json={"query": INTROSPECTION})).text
    assert (await client.get("/graphql", headers={"accept": "text/html"})).status_code == 200


async def test_no_field_suggestions_in_production(
    production: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    development = await execute(client, TYPO)
    assert "Did you mean" in development["errors"][0]["message"]
    for query in (TYPO, "{ products(orderBy: PRICE_AS) { totalCount } }"):
        body = (await production.post("/graphql", json={"query": query})).json()
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "Did you mean" not in body["errors"][0]["message"]
        assert "name" not in body["errors"][0]["message"].replace("nmae", "")


async def test_the_api_works_in_production(production: httpx.AsyncClient) -> None:
    body = await execute(production, "{ products { totalCount } }")
    assert without_cost(body) == {"data": {"products": {"totalCount": 0}}}
