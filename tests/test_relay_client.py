"""Relay (npm relay-runtime, queries compiled by relay-compiler) against a live server: a
product listed by `products` and refetched through `node` is one record in Relay's store,
under its global id."""

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.db import Database
from tests.conftest import LiveServer, execute
from tests.factories import gid, make_product, signed_in

RENAME = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) { __typename }
}"""


@pytest.fixture(scope="session")
def relay_client(node_clients: Path) -> Path:
    """tests/node_clients/relay.mjs, its operations compiled against schema.graphql (from the
    relay-compiler binary in node_modules; no network)."""
    result = subprocess.run(
        [str(node_clients / "node_modules" / ".bin" / "relay-compiler"), "--noWatchman"],
        cwd=node_clients,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"relay-compiler failed:\n{result.stdout}\n{result.stderr}")
    return node_clients / "relay.mjs"


async def _line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None and process.stderr is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    if not line:
        await process.wait()
        pytest.fail((await process.stderr.read()).decode()[-3000:])
    result: dict[str, Any] = json.loads(line)
    return result


async def test_relay_refetches_a_listed_product_into_the_same_record(
    relay_client: Path,
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
) -> None:
    # given: three products, listed by Relay
    products = [
        await make_product(session, "MUG", name="Mug", price="12.50"),
        await make_product(session, "CUP", name="Cup", price="4.00"),
        await make_product(session, "JUG", name="Jug", price="30.00"),
    ]
    ids = [gid("Product", product.id) for product in products]
    staff = await signed_in(client, db, "staff@example.com", "staff")
    process = await asyncio.create_subprocess_exec(
        "node",
        str(relay_client),
        f"{live_server.http_url}/graphql",
        "1",
        "--pause",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    try:
        listing = await _line(process)
        # when: the product changes on the server, and Relay refetches it through `node`
        renamed = await execute(client, RENAME, {"input": {"id": ids[1], "name": "Big cup"}}, staff)
        assert renamed["data"]["updateProduct"]["__typename"] == "UpdateProductSuccess"
        process.stdin.write(b"refetch\n")
        await process.stdin.drain()
        refetch = await _line(process)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # then: the list is the seeded products, each stored under its global id
    cup = {"id": ids[1], "name": "Cup", "price": "4.00"}
    assert listing["listed"] == [
        {"id": ids[0], "name": "Mug", "price": "12.50"},
        cup,
        {"id": ids[2], "name": "Jug", "price": "30.00"},
    ]
    assert listing["listedRef"] == ids[1]
    assert listing["record"] == cup
    # the refetched product is the listed one (same id and price; the new name)...
    big_cup = {"id": ids[1], "name": "Big cup", "price": "4.00"}
    assert refetch["refetched"] == big_cup
    # ...under the same data id: one record in the store, which the list now shows too
    assert refetch["refetchedRef"] == listing["listedRef"] == ids[1]
    assert refetch["record"] == big_cup
    assert refetch["listFromStore"] == [listing["listed"][0], big_cup, listing["listed"][2]]


async def test_relay_refetches_an_unchanged_product_as_listed(
    relay_client: Path, live_server: LiveServer, session: AsyncSession
) -> None:
    # given
    product = await make_product(session, "MUG", name="Mug", price="12.50")
    # when: no pause, the refetch right after the list
    process = await asyncio.create_subprocess_exec(
        "node",
        str(relay_client),
        f"{live_server.http_url}/graphql",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    # then
    assert process.returncode == 0, err.decode()[-3000:]
    listing, refetch = (json.loads(line) for line in out.decode().splitlines())
    mug = {"id": gid("Product", product.id), "name": "Mug", "price": "12.50"}
    assert listing["listed"] == [mug]
    assert refetch["refetched"] == listing["record"] == refetch["record"] == mug
    assert refetch["refetchedRef"] == listing["listedRef"] == mug["id"]
