"""R: the read mix as a shop sees it, on gql (response cache on, as deployed) and on the
PostGraphile peers, while 20 placeOrder/s sell random products."""

import contextlib
import dataclasses
from typing import Any

import httpx

from bench import mix
from bench.load import measure
from bench.seed import SPREAD_PRODUCTS
from bench.servers import Server, running
from bench.workloads import Bench, SpecFactory, _check_ledger
from bench.writes import OrderStream

# /metrics of the measured gql (production answers it only with this token).
METRICS_TOKEN = "bench-metrics-token-0123456789"


def _connection(server: str, answer: dict[str, Any]) -> dict[str, Any]:
    if "errors" in answer:
        raise RuntimeError(f"{server}: {answer['errors']}")
    data = answer["data"]
    connection: dict[str, Any] = data["products"] if server == "gql" else data["allProducts"]
    return connection


async def _walk(bench: Bench, server: Server, token: str) -> dict[tuple[str, int], str | None]:
    """The `after` of every page depth of every order, as `server` numbers its pages."""
    name = server.spec.name
    cursors: dict[tuple[str, int], str | None] = {}
    for sort in mix.SORTS:
        after: str | None = None
        for depth in range(1, mix.PAGE_DEPTHS + 1):
            cursors[(sort, depth)] = after
            body = {"query": mix.page_query(name, sort, False), "variables": {"after": after}}
            page = _connection(name, await bench.post(server.spec.url, body, token))
            if not page["pageInfo"]["hasNextPage"]:
                raise RuntimeError(f"{name}: {sort} ends before page {depth + 1}")
            after = page["pageInfo"]["endCursor"]
    return cursors


async def _check_corpus(
    bench: Bench, server: Server, reads: list[mix.Read], cursors: dict[tuple[str, int], str | None]
) -> None:
    """A sample of every kind answers without errors before the window."""
    name = server.spec.name
    token = bench.staff_token if name == "gql" else ""
    seen: set[str] = set()
    for read in reads:
        if read.kind in seen:
            continue
        seen.add(read.kind)
        answer = await bench.post(server.spec.url, read.body(name, True, cursors), token)
        if "errors" in answer or not answer.get("data"):
            raise RuntimeError(f"{name} {read.kind}: {answer}")


async def _cache_outcomes(url: str) -> dict[str, float]:
    """gql's response cache counters, from its /metrics."""
    metrics_url = url.removesuffix("/graphql") + "/metrics"
    async with httpx.AsyncClient(timeout=10) as client:
        text = (
            await client.get(metrics_url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        ).text
    outcomes: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("gql_response_cache_total{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            outcomes[outcome] = float(line.rsplit(" ", 1)[1])
    return outcomes


def _hit_rate(before: dict[str, float], after: dict[str, float]) -> float | None:
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in ("hit", "miss", "bypass")}
    total = sum(delta.values())
    return round(delta["hit"] / total, 3) if total else None


async def r_workload(bench: Bench, factories: list[SpecFactory]) -> None:
    """R against gql and each peer in turn, BENCH_ROUNDS times."""
    reads = mix.corpus()
    drawn = mix.sequence(reads)
    bench.log(f"R: {mix.distinct(reads)} distinct operations, {len(drawn)} requests drawn")
    peers = [f for f in factories if f(bench.config, None).name.startswith("postgraphile")]
    gql_spec = bench.gql_spec(cache=True)
    gql_spec = dataclasses.replace(gql_spec, env=gql_spec.env | {"METRICS_TOKEN": METRICS_TOKEN})
    # The peers have no placeOrder: a gql beside them, on the load core, places the orders.
    order_spec = dataclasses.replace(
        bench.gql_spec(), name="gql-orders", port=bench.config.base_port + 8
    )
    order_spec = dataclasses.replace(
        order_spec, env=order_spec.env | {"PORT": str(order_spec.port)}
    )
    order_config = dataclasses.replace(bench.config, server_core=bench.config.load_core)
    for round_number in range(1, bench.config.rounds + 1):
        for spec in [gql_spec, *(factory(bench.config, None) for factory in peers)]:
            is_gql = spec.name == "gql"
            async with contextlib.AsyncExitStack() as stack:
                server = await stack.enter_async_context(
                    running(spec, bench.config, f"{spec.name}-mix")
                )
                orders_url = server.spec.url
                if not is_gql:
                    orders = await stack.enter_async_context(
                        running(order_spec, order_config, "gql-orders")
                    )
                    orders_url = orders.spec.url
                await bench.ensure_tokens(orders_url, customers=True)
                cursors = await _walk(bench, server, bench.staff_token if is_gql else "")
                await _check_corpus(bench, server, reads, cursors)
                tokens = {"customer": bench.customer_tokens, "staff": [bench.staff_token]}
                lines = mix.requests_file(spec.name, reads, drawn, tokens, cursors)
                stream = OrderStream(orders_url, bench.customer_tokens, SPREAD_PRODUCTS)
                before = await _cache_outcomes(spec.url) if is_gql else {}
                result, (writes,) = await measure(
                    bench.config, server, {}, expect='"data"', mix=lines, companions=[stream]
                )
                after = await _cache_outcomes(spec.url) if is_gql else {}
            extra: dict[str, Any] = {"round": round_number, "writes": writes}
            if is_gql:
                extra["cache_hit_rate"] = _hit_rate(before, after)
            bench.row("R", spec.name, "mix", result, **extra)
            bench.log(f"  writes: {writes}; cache: {extra.get('cache_hit_rate')}")
    await _check_ledger(bench, "R")
