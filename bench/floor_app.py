"""The floor: a bare ASGI app (asyncpg pool + orjson) answering Q's JSON in 2 statements."""

import base64
import os
from collections import defaultdict
from typing import Any

import asyncpg
import orjson

PRODUCTS_SQL = "SELECT id, name, price, stock FROM product ORDER BY id LIMIT $1"
IMAGES_SQL = (
    "SELECT product_id, url, position FROM product_image "
    "WHERE product_id = ANY($1::int[]) ORDER BY product_id, position"
)
PAGE = 50
HEADERS = [(b"content-type", b"application/json")]

_pool: asyncpg.Pool | None = None


async def _products() -> bytes:
    assert _pool is not None
    async with _pool.acquire() as conn:
        products = await conn.fetch(PRODUCTS_SQL, PAGE)
        images = await conn.fetch(IMAGES_SQL, [p["id"] for p in products])
    by_product: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for image in images:
        by_product[image["product_id"]].append({"url": image["url"], "position": image["position"]})
    edges = [
        {
            "node": {
                "id": base64.b64encode(b"Product:%d" % p["id"]).decode(),
                "name": p["name"],
                "price": str(p["price"]),
                "stock": p["stock"],
                "images": by_product[p["id"]],
            }
        }
        for p in products
    ]
    return orjson.dumps({"data": {"products": {"edges": edges}}})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """POST /graphql answers Q (the body is read, not interpreted); lifespan opens the pool."""
    global _pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _pool = await asyncpg.create_pool(os.environ["FLOOR_DSN"], min_size=10, max_size=10)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _pool is not None:
                    await _pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["path"] != "/graphql":
        await send({"type": "http.response.start", "status": 404, "headers": HEADERS})
        await send({"type": "http.response.body", "body": b'{"status":"not found"}'})
        return
    body = await _products()
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": body})
