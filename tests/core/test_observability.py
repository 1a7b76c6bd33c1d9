"""Request ids in every log line, an access line per request, Prometheus metrics."""

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog import listing
from gql.core.db import Database
from gql.core.observability import configure_logging
from tests.conftest import LiveServer, make_settings
from tests.factories import gid, make_product, signed_in
from tests.ws import GraphQLWebSocket

PRODUCTS = "query Products { products { totalCount } }"


def _metric(text: str, name: str) -> float:
    """The value of one sample line of the exposition format."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_every_request_gets_one_access_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # when
    with caplog.at_level(logging.INFO, logger="gql.access"):
        await client.post(
            "/graphql",
            json={"query": PRODUCTS, "operationName": "Products"},
            headers={"x-request-id": "trace-1"},
        )
        await client.post(
            "/graphql", json={"query": "{ nope }"}, headers={"x-request-id": "trace-2"}
        )
    # then
    lines = {r.request_id: r for r in caplog.records if r.name == "gql.access"}  # type: ignore[attr-defined]
    ok, bad = lines["trace-1"], lines["trace-2"]
    assert (ok.method, ok.path, ok.status, ok.operation, ok.error_codes) == (  # type: ignore[attr-defined]
        "POST",
        "/graphql",
        200,
        "Products",
        [],
    )
    assert ok.operation_type == "query"  # type: ignore[attr-defined]
    assert ok.duration_ms > 0  # type: ignore[attr-defined]
    assert bad.error_codes == ["GRAPHQL_VALIDATION_FAILED"]  # type: ignore[attr-defined]


async def test_an_unexpected_error_is_logged_with_its_request_id(
    general_client: httpx.AsyncClient,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    product = await make_product(session, "BOOM")

    async def explode(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(listing, "get_product", explode)
    with caplog.at_level(logging.ERROR, logger="gql.errors"):
        response = await general_client.post(
            "/graphql",
            json={"query": f'{{ product(id: "{gid("Product", product.id)}") {{ name }} }}'},
            headers={"x-request-id": "trace-boom"},
        )
    assert "disk on fire" not in response.text
    (record,) = [r for r in caplog.records if r.name == "gql.errors"]
    assert record.request_id == "trace-boom"  # type: ignore[attr-defined]
    assert record.exc_info is not None and "disk on fire" in str(record.exc_info[1])


def test_logs_are_json_lines_with_the_request_id(capfd: pytest.CaptureFixture[str]) -> None:
    # given
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(make_settings("sqlite+aiosqlite://", log_format="json"))
        # when
        logging.getLogger("gql.test").warning(
            "hello %s", "world", extra={"status": 201, "color_message": "\x1b[1mhello\x1b[0m"}
        )
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    # then
    line = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "hello world"
    assert (line["level"], line["logger"], line["status"]) == ("WARNING", "gql.test", 201)
    assert "request_id" in line and "time" in line
    assert "color_message" not in line


async def test_metrics(
    live_server: LiveServer, client: httpx.AsyncClient, db: Database, app: Any
) -> None:
    # given: two named queries, one error, one live subscription
    for _ in range(2):
        await client.post("/graphql", json={"query": PRODUCTS, "operationName": "Products"})
    await client.post("/graphql", json={"query": "{ nope }"})
    staff = await signed_in(client, db, "staff@example.com", "staff")
    token = staff["Authorization"].removeprefix("Bearer ")
    async with GraphQLWebSocket(live_server.ws_url, token) as ws:
        await ws.subscribe("s", "subscription { stockChanged { id } }")
        for _ in range(50):
            if app.state.hub.subscribers:
                break
            await asyncio.sleep(0.02)
        # when
        text = (await client.get("/metrics")).text
    # then
    assert _metric(text, 'gql_requests_total{operation="Products",status="200"}') == 2
    assert _metric(text, 'gql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}') == 1
    assert _metric(text, 'gql_request_duration_seconds_count{operation="Products"}') == 2
    assert _metric(text, "gql_active_subscriptions") == 1
    assert _metric(text, "gql_db_pool_checked_out") >= 0
    assert "gql_db_pool_size" in text


async def test_operation_labels_are_bounded(client: httpx.AsyncClient) -> None:
    # given: clients choosing ever new operation names
    for n in range(210):
        await client.post("/graphql", json={"query": f"query Op{n} {{ __typename }}"})
    await client.post(
        "/graphql", json={"query": "query Bad { __typename }", "operationName": "x y"}
    )
    # when
    text = (await client.get("/metrics")).text
    # then
    labels = {
        line.split('operation="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("gql_requests_total{")
    }
    assert len(labels) <= 202
    assert "other" in labels
