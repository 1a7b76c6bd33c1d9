"""The example clients in examples/ work against a live server."""

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.db import Database
from tests.conftest import LiveServer, execute
from tests.factories import PASSWORD, gid, make_product, signed_in

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ADJUST = (
    "mutation($id: ID!) { adjustStock(productId: $id, delta: 4, reason: RESTOCK) { __typename } }"
)


@pytest.fixture(scope="session")
def node_examples() -> Path:
    """examples/ with its npm packages installed from the lock file."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the Node example")
    if not (EXAMPLES / "node_modules" / "graphql-ws").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=EXAMPLES, check=True, timeout=300
        )
    return EXAMPLES


async def _run_example(
    command: list[str],
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    app: Any,
    session: AsyncSession,
) -> list[dict[str, Any]]:
    """Run a client, change the stock once it has subscribed; the steps it printed."""
    staff = await signed_in(client, db, "staff@example.com", "staff")
    product = await make_product(session, "MUG", name="Mug", stock=2)
    args = ["--url", live_server.http_url, "--email", "staff@example.com", "--password", PASSWORD]
    process = await asyncio.create_subprocess_exec(
        *command, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    steps: list[dict[str, Any]] = []
    try:
        while not steps or steps[-1]["step"] != "subscribed":
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            if not line:
                pytest.fail((await process.stderr.read()).decode()[-3000:])
            steps.append(json.loads(line))
        for _ in range(200):  # the subscribe message is on its way: wait until it is live
            if app.state.hub.subscribers:
                break
            await asyncio.sleep(0.02)
        assert (await execute(client, ADJUST, {"id": gid("Product", product.id)}, staff))["data"]
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()[-3000:]
    return steps + [json.loads(line) for line in out.decode().splitlines()]


def _check(steps: list[dict[str, Any]]) -> None:
    by_step = {step["step"]: step for step in steps}
    assert [step["step"] for step in steps] == [
        "login",
        "products",
        "subscribed",
        "event",
        "refreshed",
    ]
    assert by_step["login"]["user"] == "staff@example.com"
    assert by_step["products"]["names"] == ["Mug"]
    assert (by_step["event"]["delta"], by_step["event"]["quantityAfter"]) == (4, 6)
    assert by_step["event"]["product"] == {"sku": "MUG", "stock": 6}
    assert by_step["refreshed"]["newToken"] is True


async def test_the_python_example(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    app: Any,
    session: AsyncSession,
) -> None:
    steps = await _run_example(
        [sys.executable, str(EXAMPLES / "python_client.py")], live_server, client, db, app, session
    )
    _check(steps)


async def test_the_node_example(
    node_examples: Path,
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    app: Any,
    session: AsyncSession,
) -> None:
    steps = await _run_example(
        ["node", str(node_examples / "node_client.mjs")], live_server, client, db, app, session
    )
    _check(steps)
