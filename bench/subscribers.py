"""Subscriber clients (run as their own process): N sockets, then timed stock events."""

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import time
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.queries import product_id

SUBSCRIPTION = (
    "subscription Watch($ids: [ID!]) { stockChanged(productIds: $ids) "
    "{ id delta quantityAfter reason createdAt product { id name stock } } }"
)
ADJUST = (
    "mutation Adjust($id: ID!) { adjustStock(productId: $id, delta: 1, reason: RESTOCK) "
    "{ __typename } }"
)
# What the floor broadcasts: the size and shape of one gql `next` message.
FLOOR_MESSAGE = {
    "id": "1",
    "type": "next",
    "payload": {
        "data": {
            "stockChanged": {
                "id": "U3RvY2tFdmVudDoxMDAwMQ==",
                "delta": 1,
                "quantityAfter": 124,
                "reason": "RESTOCK",
                "createdAt": "2026-01-01T00:00:00.000000+00:00",
                "product": {
                    "id": "UHJvZHVjdDo5OTk4",
                    "name": "Green Lamp 09998",
                    "stock": 124,
                },
            }
        }
    },
}


class Fleet:
    """The sockets and when each received each event (index 0 is the probe)."""

    def __init__(self, events: int) -> None:
        self.sockets: list[ClientConnection] = []
        self.received: list[list[float]] = []
        self.counts = [0] * (events + 1)
        self.expected = 0
        self.arrived = [asyncio.Event() for _ in range(events + 1)]
        self.failed = 0
        self.errors: list[str] = []
        self.message_bytes = 0

    def note(self, times: list[float]) -> None:
        """A socket got its next event."""
        times.append(time.perf_counter())
        k = len(times) - 1
        if k < len(self.counts):
            self.counts[k] += 1
            if self.counts[k] >= self.expected:
                self.arrived[k].set()


async def _read(ws: ClientConnection, fleet: Fleet, times: list[float], graphql: bool) -> None:
    with contextlib.suppress(Exception):
        async for message in ws:
            if not graphql or '"next"' in message:
                fleet.note(times)
                fleet.message_bytes = fleet.message_bytes or len(message)
            elif '"ping"' in message:
                await ws.send('{"type":"pong"}')
            elif len(fleet.errors) < 5:
                fleet.errors.append(str(message)[:300])


async def _open(args: argparse.Namespace, fleet: Fleet, token: str | None) -> None:
    graphql = args.protocol == "gql"
    try:
        ws = await connect(
            args.url,
            subprotocols=["graphql-transport-ws"] if graphql else None,  # type: ignore[list-item]
            compression=None,
            ping_interval=None,
            open_timeout=60,
            max_size=None,
        )
        if graphql:
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                )
            )
            ack = await asyncio.wait_for(ws.recv(), 60)
            if '"connection_ack"' not in str(ack):
                raise RuntimeError(f"no ack: {str(ack)[:200]}")
            variables = {"ids": [product_id(args.product_id)]}
            payload = {"query": SUBSCRIPTION, "variables": variables}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    except Exception as error:
        fleet.failed += 1
        if len(fleet.errors) < 5:
            fleet.errors.append(f"connect: {error!r}"[:300])
        return
    times: list[float] = []
    fleet.sockets.append(ws)
    fleet.received.append(times)
    asyncio.get_running_loop().create_task(_read(ws, fleet, times, graphql))


async def _trigger(args: argparse.Namespace, client: httpx.AsyncClient) -> float:
    """Cause one event; returns the time just before the request went out."""
    if args.protocol == "gql":
        body = {"query": ADJUST, "variables": {"id": product_id(args.product_id)}}
        headers = {"Authorization": f"Bearer {args.staff_token}"}
        started = time.perf_counter()
        response = await client.post(args.trigger_url, json=body, headers=headers)
        typename = response.json()["data"]["adjustStock"]["__typename"]
        if typename != "AdjustStockSuccess":
            raise RuntimeError(f"adjustStock answered {typename}")
        return started
    started = time.perf_counter()
    await client.post(args.trigger_url, content=json.dumps(FLOOR_MESSAGE))
    return started


def _say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def _wait_line() -> str:
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    """connect -> probe -> (report) -> events -> (report)."""
    fleet = Fleet(args.events)
    tokens = open(args.tokens).read().split() if args.tokens else []  # noqa: ASYNC230, SIM115
    _say(phase="ready")
    await _wait_line()
    limit = asyncio.Semaphore(args.concurrency)

    async def opened(n: int) -> None:
        async with limit:
            await _open(args, fleet, tokens[n] if tokens else None)

    started = time.perf_counter()
    await asyncio.gather(*(opened(n) for n in range(args.count)))
    connect_seconds = time.perf_counter() - started
    fleet.expected = len(fleet.sockets)
    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.sleep(1.0)  # let the server register the last subscriptions
        await _trigger(args, client)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fleet.arrived[0].wait(), args.timeout)
        _say(
            phase="connected",
            connected=len(fleet.sockets),
            failed=fleet.failed,
            receiving=fleet.counts[0],
            connect_seconds=round(connect_seconds, 2),
            errors=fleet.errors,
        )
        await _wait_line()
        sent: list[float] = []
        for k in range(1, args.events + 1):
            await asyncio.sleep(args.gap)
            sent.append(await _trigger(args, client))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fleet.arrived[k].wait(), args.timeout)
    latencies = [
        (times[k] - sent[k - 1]) * 1000
        for times in fleet.received
        for k in range(1, min(len(times), args.events + 1))
    ]
    held = sum(1 for times in fleet.received if len(times) >= args.events + 1)
    _say(
        phase="done",
        connected=len(fleet.sockets),
        held=held,
        samples=len(latencies),
        p50_ms=round(statistics.median(latencies), 2) if latencies else None,
        p99_ms=round(_percentile(latencies, 99), 2) if latencies else None,
        max_ms=round(max(latencies), 2) if latencies else None,
        message_bytes=fleet.message_bytes,
        errors=fleet.errors,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of the subscriber process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--protocol", choices=["gql", "raw"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--trigger-url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--tokens", help="file of access tokens, one per subscriber (gql)")
    parser.add_argument("--staff-token", default=os.environ.get("BENCH_STAFF_TOKEN", ""))
    parser.add_argument("--product-id", type=int, default=0)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between events")
    parser.add_argument("--concurrency", type=int, default=50, help="sockets opening at once")
    parser.add_argument("--timeout", type=float, default=60.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        asyncio.run(main(parse_args()))
    finally:
        sys.stdout.flush()
        os._exit(0)
