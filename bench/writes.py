"""A steady stream of placeOrder requests beside a read workload (Qw+W)."""

import asyncio
import contextlib
import random
import time
from typing import Any

import httpx

from bench import queries


class OrderStream:
    """`rate` placeOrder/s of 1 unit of a random product in `products`, each by the next
    customer token, sent on schedule (not one after the other) between start() and stop()."""

    def __init__(
        self, url: str, tokens: list[str], products: tuple[int, int], rate: float = 20.0
    ) -> None:
        self.url = url
        self.tokens = tokens
        self.products = products
        self.rate = rate
        self.sent = 0
        self.placed = 0
        self.failed: list[str] = []
        self.latencies: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._started = 0.0

    async def start(self) -> None:
        """Begin sending."""
        self._client = httpx.AsyncClient(timeout=30)
        self._started = time.monotonic()
        self._task = asyncio.create_task(self._send_on_schedule())

    async def _send_on_schedule(self) -> None:
        while True:
            due = self._started + self.sent / self.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(self._order(self.tokens[self.sent % len(self.tokens)]))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            self.sent += 1

    async def _order(self, token: str) -> None:
        product_id = random.randint(*self.products)
        body = {"query": queries.PLACE_ORDER, "variables": {"id": queries.product_id(product_id)}}
        started = time.monotonic()
        try:
            response = await self._client.post(
                self.url, json=body, headers={"Authorization": f"Bearer {token}"}
            )
            typename = response.json()["data"]["placeOrder"]["__typename"]
        except Exception as error:  # reported, not raised
            self.failed.append(repr(error)[:200])
            return
        self.latencies.append(time.monotonic() - started)
        if typename == "PlaceOrderSuccess":
            self.placed += 1
        else:
            self.failed.append(typename)

    async def stop(self) -> dict[str, Any]:
        """Stop sending, let the orders in flight finish; what was placed."""
        elapsed = time.monotonic() - self._started
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pending:
            await asyncio.wait(self._pending, timeout=30)
        await self._client.aclose()
        self.latencies.sort()
        p99 = self.latencies[int(0.99 * (len(self.latencies) - 1))] if self.latencies else None
        return {
            "orders_sent": self.sent,
            "orders_placed": self.placed,
            "orders_per_second": round(self.placed / max(elapsed, 1e-9), 1),
            "order_p99_ms": round(p99 * 1000, 1) if p99 is not None else None,
            "failed": self.failed[:5],
        }
