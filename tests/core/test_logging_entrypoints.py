"""The app logs the same however it is started: `gql serve`, plain `uvicorn --factory`."""

import json
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql.core.observability import configure_logging
from tests.conftest import make_settings
from tests.servers import ServerProcess, run_gql

PRODUCTS = "query Products { products(first: 1) { totalCount } }"
ONE = 'query One { product(id: "UHJvZHVjdDox") { name } }'  # product 1


def _json_lines(logged: str) -> list[dict[str, Any]]:
    lines = []
    for line in logged.splitlines():
        if line.startswith("{") and line.endswith("}"):  # not one still being written
            lines.append(json.loads(line))
    return lines


def _access_line(logged: str, request_id: str) -> bool:
    return any(
        line["logger"] == "gql.access" and line.get("request_id") == request_id
        for line in _json_lines(logged)
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["gql.cli", "serve"], id="gql serve"),
        pytest.param(
            ["uvicorn", "gql.main:create_app", "--factory", "--host", "127.0.0.1"],
            id="uvicorn --factory",
        ),
    ],
)
def test_access_lines_and_masked_errors_carry_the_request_id(
    command: list[str], tmp_path: Path
) -> None:
    # given: the app on a migrated SQLite file, started one documented way
    database = tmp_path / "gql.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "ENV": "test", "LOG_LEVEL": "INFO"}
    run_gql("migrate", env=os.environ | env, cwd=tmp_path)
    server = ServerProcess(env, cwd=tmp_path)
    server.command = [sys.executable, "-m", *command]
    if command[0] == "uvicorn":
        server.command += ["--port", str(server.port)]
    server.start()
    try:
        # when: a good request, and one that fails unexpectedly (a price no number)
        ok = httpx.post(
            f"{server.url}/graphql", json={"query": PRODUCTS}, headers={"x-request-id": "t-ok"}
        )
        with sqlite3.connect(database) as connection:
            connection.execute(
                "INSERT INTO product (id, sku, name, description, price, stock, created_at, "
                "updated_at, version, ledger_epoch) VALUES (1, 'X', 'X', '', 'not a number', 1, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, 0)"
            )
        failed = httpx.post(
            f"{server.url}/graphql", json={"query": ONE}, headers={"x-request-id": "t-boom"}
        )
        # The access line is written once the response has gone out: wait for it.
        deadline = time.monotonic() + 10
        while not _access_line(server.logged(), "t-boom") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        _, logged = server.stop()
    assert ok.status_code == 200 and "errors" not in ok.json()
    assert failed.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    # then: JSON lines, an access line per request, the traceback under its request id
    lines = _json_lines(logged)
    assert lines, logged
    access = {line["request_id"]: line for line in lines if line["logger"] == "gql.access"}
    assert access["t-ok"]["status"] == 200 and access["t-ok"]["operation"] == "Products"
    assert access["t-boom"]["error_codes"] == ["INTERNAL_SERVER_ERROR"]
    (error,) = [line for line in lines if line["logger"] == "gql.errors"]
    assert error["request_id"] == "t-boom"
    assert "Traceback" in error["exc_info"] and "not a number" not in failed.text
    # uvicorn's own lines come through the same handler, without colour codes
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    assert "\x1b[" not in logged
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]


def test_development_logs_are_readable_lines(capfd: pytest.CaptureFixture[str]) -> None:
    # given: development, no LOG_FORMAT
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(make_settings("sqlite+aiosqlite://", env="development"))
        # when: a line as uvicorn writes it, with a coloured copy of its message
        logging.getLogger("uvicorn.error").info(
            "Started server process", extra={"color_message": "\x1b[1mStarted\x1b[0m"}
        )
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    # then
    line = capfd.readouterr().err.strip().splitlines()[-1]
    assert line.endswith("INFO uvicorn.error [None] Started server process")
    assert "\x1b" not in line
