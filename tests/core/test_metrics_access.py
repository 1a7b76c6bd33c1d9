"""/metrics: off the public API in production unless scraped with its token, and right with
several worker processes (prometheus_client's multiprocess mode)."""

import os
import re
import sys
from pathlib import Path

import httpx

from gql.auth.sessions import AuthTools
from gql.core.config import Settings
from gql.core.db import Database
from gql.main import create_app
from tests.conftest import make_settings
from tests.servers import ServerProcess, run_gql

STRONG_SECRET = "k3y-" + "x" * 60
PRODUCTS = "query Products { products(first: 1) { totalCount } }"


async def _status(app: object, headers: dict[str, str] | None = None) -> int:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return (await client.get("/metrics", headers=headers)).status_code


async def test_production_serves_metrics_only_with_the_token(
    db: Database, settings: Settings, auth_tools: AuthTools
) -> None:
    # given
    url = settings.database_url
    without = make_settings(url, env="production", jwt_secret=STRONG_SECRET)
    with_token = make_settings(
        url, env="production", jwt_secret=STRONG_SECRET, metrics_token="scrape-me-0123456789"
    )
    # when / then: no token configured (or an empty one), nobody reads them
    assert await _status(create_app(without, database=db, auth=auth_tools)) == 404
    empty = make_settings(url, env="production", jwt_secret=STRONG_SECRET, metrics_token=" ")
    app = create_app(empty, database=db, auth=auth_tools)
    assert await _status(app, {"Authorization": "Bearer  "}) == 404
    # a token configured: only a scrape that sends it
    app = create_app(with_token, database=db, auth=auth_tools)
    assert await _status(app) == 404
    assert await _status(app, {"Authorization": "Bearer wrong"}) == 404
    assert await _status(app, {"Authorization": "Bearer scrape-me-0123456789"}) == 200


def test_every_scrape_of_several_workers_counts_every_request(tmp_path: Path) -> None:
    # given: two uvicorn workers sharing a metrics directory
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    database = tmp_path / "gql.db"
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "WARNING",
    }
    run_gql("migrate", env=os.environ | env, cwd=tmp_path)
    server = ServerProcess(env, cwd=tmp_path)
    server.command = [
        sys.executable, "-m", "uvicorn", "gql.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(server.port), "--workers", "2",
    ]  # fmt: skip
    server.start()
    try:
        # when: 20 requests, spread over the workers by the kernel
        with httpx.Client(base_url=server.url) as client:
            for _ in range(20):
                client.post("/graphql", json={"query": PRODUCTS}, headers={"connection": "close"})
            scrapes = [
                client.get("/metrics", headers={"connection": "close"}).text for _ in range(6)
            ]
    finally:
        server.stop()
    # then: whichever worker answers, it counts all 20
    pattern = re.compile(r'^gql_requests_total\{operation="Products",status="200"\} (\S+)$', re.M)
    counts = [float(m.group(1)) if (m := pattern.search(text)) else None for text in scrapes]
    assert counts == [20.0] * 6, counts
