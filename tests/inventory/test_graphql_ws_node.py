"""The npm graphql-ws client, from Node, subscribes to stockChanged on a live server."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.db import Database
from tests.conftest import LiveServer, execute
from tests.factories import gid, make_product, signed_in

ADJUST = (
    "mutation($id: ID!) { adjustStock(productId: $id, delta: 2, reason: RESTOCK) { __typename } }"
)


async def test_the_graphql_ws_client_receives_stock_events(
    node_clients: Path,
    live_server: LiveServer,
    client: httpx.AsyncClient,
    db: Database,
    session: AsyncSession,
) -> None:
    # given: the Node client subscribed with a staff token
    product = await make_product(session, "NODE", stock=1)
    staff = await signed_in(client, db, "staff@example.com", "staff")
    token = staff["Authorization"].removeprefix("Bearer ")
    process = await asyncio.create_subprocess_exec(
        "node",
        str(node_clients / "subscribe.mjs"),
        live_server.ws_url,
        token,
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 15)
        if not line:
            assert process.stderr is not None
            pytest.fail((await process.stderr.read()).decode()[-2000:])
        assert json.loads(line) == {"connected": True}
        await live_server.wait_for_subscribers(1)
        # when
        for _ in range(3):
            await execute(client, ADJUST, {"id": gid("Product", product.id)}, staff)
        # then
        lines = [
            json.loads(await asyncio.wait_for(process.stdout.readline(), 15)) for _ in range(3)
        ]
        assert [line["data"]["stockChanged"]["quantityAfter"] for line in lines] == [3, 5, 7]
        assert lines[-1]["data"]["stockChanged"]["product"] == {"sku": "NODE", "stock": 7}
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
