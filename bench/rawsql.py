"""The raw floor of placeOrder: asyncpg transactions (conditional UPDATE + order row), 64 at a
time, on copies of gql's tables without its triggers (schema `floor`, made by the seed): on
one hot product, or spread over random products."""

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime

import asyncpg

TAKE = "UPDATE floor.product SET stock = stock - 1 WHERE id = $1 AND stock >= 1 RETURNING price"
ORDER = (
    "INSERT INTO floor.customer_order (customer_id, status, total, created_at) "
    "VALUES ($1, 'PLACED', $2, $3) RETURNING id"
)


async def run(
    dsn: str, products: tuple[int, int], customer_id: int, seconds: float, tasks: int
) -> dict:
    """Transactions committed in `seconds` by `tasks` concurrent workers over a pool of 10,
    each on a product drawn from the inclusive id range `products`."""
    pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
    latencies: list[float] = []
    failed = 0
    deadline = time.perf_counter() + seconds
    low, high = products

    async def worker() -> None:
        nonlocal failed
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            product_id = random.randint(low, high)
            async with pool.acquire() as conn, conn.transaction():
                price = await conn.fetchval(TAKE, product_id)
                if price is None:
                    failed += 1
                    continue
                await conn.fetchval(ORDER, customer_id, price, datetime.now(UTC))
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    elapsed = time.perf_counter() - started
    await pool.close()
    latencies.sort()
    return {
        "tx": len(latencies),
        "failed": failed,
        "seconds": round(elapsed, 2),
        "tps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 2)
        if latencies
        else None,
    }


def _range(text: str) -> tuple[int, int]:
    low, _, high = text.partition(":")
    return int(low), int(high or low)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", required=True)
    parser.add_argument(
        "--products", type=_range, required=True, help="a product id, or LOW:HIGH to spread"
    )
    parser.add_argument("--customer", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tasks", type=int, default=64)
    args = parser.parse_args()
    result = asyncio.run(run(args.dsn, args.products, args.customer, args.seconds, args.tasks))
    print(json.dumps(result), flush=True)
