"""GraphiQL from the npm assets (no CDN, strict CSP), the CDN page only as a fallback."""

import logging
import re
from pathlib import Path

import httpx
import pytest

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from gql.web import graphiql


async def test_the_page_loads_only_its_own_scripts(client: httpx.AsyncClient) -> None:
    # when
    page = await client.get("/graphql", headers={"accept": "text/html"})
    # then: every script is a file of ours, none inline, nothing from another origin
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, flags=re.DOTALL)
    assert scripts and all(
        'src="graphiql/' in attrs and not body.strip() for attrs, body in scripts
    )
    assert "unpkg" not in page.text and "https://" not in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]


async def test_the_assets_are_served_compressed(client: httpx.AsyncClient) -> None:
    for name in ("app.js", "vendor/graphiql.js", "vendor/react.js", "vendor/graphql-ws.js"):
        response = await client.get(f"/graphiql/{name}", headers={"accept-encoding": "gzip"})
        assert response.status_code == 200, name
        assert "javascript" in response.headers["content-type"]
    big = await client.get("/graphiql/vendor/graphiql.js", headers={"accept-encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"


async def test_without_the_assets_the_cdn_page_is_served_with_a_warning(
    db: Database,
    settings: Settings,
    auth_tools: AuthTools,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given: no vendored assets
    monkeypatch.setattr(graphiql, "VENDOR", tmp_path / "missing")
    # when
    with caplog.at_level(logging.WARNING, logger="gql.graphiql"):
        app = create_app(settings, database=db, auth=auth_tools)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assets = await client.get("/graphiql/app.js")
    # then
    assert "make assets" in caplog.text
    assert "unpkg.com" in page.text
    assert "https://unpkg.com" in page.headers["content-security-policy"]
    assert assets.status_code == 404


async def test_no_graphiql_and_no_assets_in_production(
    db: Database, settings: Settings, auth_tools: AuthTools
) -> None:
    production = settings.model_copy(update={"env": "production", "jwt_secret": "p" * 40})
    app = create_app(production, database=db, auth=auth_tools)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/graphql", headers={"accept": "text/html"})).status_code == 404
        assert (await client.get("/graphiql/app.js")).status_code == 404
