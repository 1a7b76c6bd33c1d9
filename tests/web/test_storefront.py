"""The storefront example at /storefront/: development only, under a strict CSP, and its
files keep to what that CSP allows."""

import logging
import re
from pathlib import Path

import httpx
import pytest

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from gql.web import storefront


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_the_page_and_its_modules_are_served_under_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    # when
    page = await client.get("/storefront/")
    bare = await client.get("/storefront", follow_redirects=False)
    script = await client.get("/storefront/js/main.js")
    # then
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == storefront.CSP
    assert "'unsafe-inline'" not in storefront.CSP and "form-action 'none'" in storefront.CSP
    assert bare.status_code in (307, 308) and bare.headers["location"].endswith("/storefront/")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


def test_no_inline_script_style_or_markup_from_data() -> None:
    html = (storefront.DIRECTORY / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.DOTALL)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert " style=" not in html and "<style" not in html
    for module in storefront.DIRECTORY.glob("js/*.js"):
        source = module.read_text(encoding="utf-8")
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", ".style", "eval("):
            assert forbidden not in source, f"{module.name}: {forbidden}"


async def test_not_served_in_production(
    db: Database, settings: Settings, auth_tools: AuthTools
) -> None:
    production = settings.model_copy(update={"env": "production", "jwt_secret": "p" * 40})
    async with _client(create_app(production, database=db, auth=auth_tools)) as client:
        assert (await client.get("/storefront/")).status_code == 404
        assert (await client.get("/storefront/js/main.js")).status_code == 404


async def test_without_the_directory_nothing_is_mounted_and_the_log_says_so(
    db: Database,
    settings: Settings,
    auth_tools: AuthTools,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given: an install without examples/ (a wheel, the Docker image)
    monkeypatch.setattr(storefront, "DIRECTORY", tmp_path / "missing")
    # when
    with caplog.at_level(logging.INFO, logger="gql.storefront"):
        app = create_app(settings, database=db, auth=auth_tools)
    async with _client(app) as client:
        page = await client.get("/storefront/")
    # then
    assert "/storefront/ is not served" in caplog.text
    assert page.status_code == 404
