"""The workloads: Q, Q-deep, O and S, each against gql and its baselines."""

import asyncio
import json
import os
import resource
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench import profile, queries, servers
from bench.config import ROOT, BenchConfig
from bench.load import LoadResult, background_statements, count_statements, measure
from bench.locks import LockWaitSampler
from bench.proxy import CountingProxy
from bench.seed import (
    EVENT_PRODUCT,
    HOT_ORDER_PRODUCT,
    HOT_RAW_PRODUCT,
    HUGE_STOCK,
    SPREAD_PRODUCTS,
    Seeded,
    mint_sessions,
)
from bench.servers import Server, ServerSpec, rss_kib, running
from bench.writes import OrderStream

SpecFactory = Callable[[BenchConfig, int | None], ServerSpec]


@dataclass
class Bench:
    """What the workloads share: settings, the seeded accounts, an HTTP client, the proxy."""

    config: BenchConfig
    seeded: Seeded
    client: httpx.AsyncClient
    proxy: CountingProxy
    results: dict[str, Any] = field(default_factory=dict)
    staff_token: str = ""
    customer_tokens: list[str] = field(default_factory=list)

    def log(self, message: str) -> None:
        """Progress on stderr."""
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    def row(
        self, workload: str, server: str, variant: str, result: LoadResult, **extra: Any
    ) -> None:
        """Record one measured window."""
        entry = {"workload": workload, "server": server, "variant": variant, **result.as_dict()}
        self.results.setdefault("runs", []).append(entry | extra)
        self.log(
            f"{workload} {server} {variant}: {result.rps} req/s, p50 {result.p50_ms} ms, "
            f"p99 {result.p99_ms} ms, {result.cpu_ms_per_req} CPU ms/req, bad {result.bad}"
        )
        if result.bad or result.socket_errors:
            self.log(
                f"  errors: bad={result.bad} socket={result.socket_errors} {result.sample_error}"
            )

    def gql_spec(self, db_port: int | None = None, *, cache: bool = False) -> ServerSpec:
        """gql with the bench's settings; without its response cache unless `cache`."""
        settings = {"RESPONSE_CACHE": "true" if cache else "false"} | self.config.gql_env
        return servers.gql(self.config, db_port, **settings)

    async def post(self, url: str, body: dict[str, Any], token: str = "") -> dict[str, Any]:
        """One GraphQL request; the decoded answer."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(url, json=body, headers=headers)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def login(self, url: str, email: str) -> str:
        """An access token through gql's `login` mutation."""
        variables = {"email": email, "password": self.seeded.password}
        answer = await self.post(url, {"query": queries.LOGIN, "variables": variables})
        payload = answer["data"]["login"]
        if payload["__typename"] != "AuthPayload":
            raise RuntimeError(f"login of {email} answered {payload}")
        return str(payload["accessToken"])

    async def ensure_tokens(self, url: str, customers: bool) -> None:
        """Log in the staff user (and the 64 customers) once; tokens outlive the process."""
        if not self.staff_token:
            self.staff_token = await self.login(url, self.seeded.staff_email)
        if customers and not self.customer_tokens:
            self.log(f"logging in {len(self.seeded.customer_emails)} customers (argon2)")
            for email in self.seeded.customer_emails:
                self.customer_tokens.append(await self.login(url, email))

    def headers(self) -> dict[str, str]:
        """The staff bearer header (gql's Product.stock needs inventory:read)."""
        return {"Authorization": f"Bearer {self.staff_token}"}

    def lock_sampler(self) -> LockWaitSampler:
        """Lock waits of the bench database's backends, sampled every 20 ms."""
        return LockWaitSampler(self.config.dsn(), self.config.database)


def _extract(name: str) -> Callable[[dict[str, Any]], list[queries.Product]]:
    return (
        queries.postgraphile_products if name.startswith("postgraphile") else queries.relay_products
    )


def _q_body(name: str) -> dict[str, Any]:
    if name == "postgraphile5":
        return {"query": queries.Q_POSTGRAPHILE5}
    if name == "postgraphile4":
        return {"query": queries.Q_POSTGRAPHILE}
    return queries.q_body()


async def _verify_q(bench: Bench, server: Server, token: str = "", seeded: bool = True) -> None:
    """Q's answer: 50 products with 4 images each, equal to the seeded data unless orders
    have changed stock since (`seeded=False`)."""
    answer = await bench.post(server.spec.url, _q_body(server.spec.name), token)
    if "errors" in answer:
        raise AssertionError(f"{server.spec.name}: {answer['errors']}")
    expected = queries.expected_first() if seeded else None
    queries.check_page(_extract(server.spec.name)(answer), expected)


def _record_count(bench: Bench, server: str, what: str, count: Any) -> None:
    bench.results.setdefault("statements", {}).setdefault(server, {})[what] = count.__dict__
    bench.log(
        f"statements {server} {what}: {count.per_request}/req ({count.with_overhead} with tx)"
    )


async def count_phase(bench: Bench, factories: list[SpecFactory]) -> None:
    """Each server once through the counting proxy: statements per request, untimed."""
    n = bench.config.count_requests
    for factory in factories:
        spec = factory(bench.config, bench.proxy.port)
        async with running(spec, bench.config, f"{spec.name}-count") as server:
            url = spec.url
            if spec.name != "gql":
                if "Q" in bench.config.workloads:
                    await _verify_q(bench, server)
                    count = await count_statements(
                        bench.client, bench.proxy.counter, url, [_q_body(spec.name)] * n
                    )
                    _record_count(bench, spec.name, "Q first=50", count)
                continue
            await bench.ensure_tokens(url, customers="O" in bench.config.workloads)
            headers = bench.headers()
            # gql polls the ledger every 5 s and pings its LISTEN connection every 2 s.
            idle = frozenset(await background_statements(bench.proxy.counter, 6.0))

            async def count(
                body: dict[str, Any], hdrs: dict[str, str], url: str = url, idle: Any = idle
            ) -> Any:
                return await count_statements(
                    bench.client, bench.proxy.counter, url, [body] * n, hdrs, idle
                )

            if "Q" in bench.config.workloads:
                await _verify_q(bench, server, bench.staff_token)
                for first in (50, 10):
                    _record_count(
                        bench,
                        "gql",
                        f"Q first={first}",
                        await count(queries.q_body(first), headers),
                    )
            if "QDEEP" in bench.config.workloads:
                cursor = await _walk_to_page_199(bench, url)
                for label, after in (("Q by price page 1", None), ("Q-deep page 200", cursor)):
                    _record_count(
                        bench, "gql", label, await count(queries.q_by_price_body(after), headers)
                    )
            if "O" in bench.config.workloads:
                body = {
                    "query": queries.PLACE_ORDER,
                    "variables": {"id": queries.product_id(HOT_ORDER_PRODUCT)},
                }
                customer = {"Authorization": f"Bearer {bench.customer_tokens[0]}"}
                _record_count(bench, "gql", "O placeOrder", await count(body, customer))


async def q_workload(bench: Bench, factories: list[SpecFactory]) -> None:
    """Q: the first 50 products by id with their images, each server in turn (cold), then
    gql with its response cache (warm); the whole round BENCH_ROUNDS times, so that every
    server meets the machine's slow and fast moments alike."""
    for round_number in range(1, bench.config.rounds + 1):
        for factory in factories:
            spec = factory(bench.config, None)
            async with running(spec, bench.config, spec.name) as server:
                token = ""
                if spec.name == "gql":
                    await bench.ensure_tokens(spec.url, customers=False)
                    token = bench.staff_token
                await _verify_q(bench, server, token)
                headers = bench.headers() if token else None
                sampler = None
                if spec.name == "gql" and profile.enabled() and round_number == 1:
                    delay = bench.config.warmup + 1
                    seconds = max(1.0, bench.config.duration - 2)
                    sampler = asyncio.create_task(
                        profile.record(server.pid, delay, seconds, "gql-q")
                    )
                result, _ = await measure(
                    bench.config,
                    server,
                    _q_body(spec.name),
                    expect='"edges"' if not spec.name.startswith("postgraphile") else '"nodes"',
                    headers=headers,
                )
                bench.row("Q", spec.name, "cold", result, round=round_number)
                if sampler is not None and (folded := await sampler):
                    bench.results["profile"] = profile.summarize(folded)
        # Warm: the same requests again and again, answered by the response cache.
        spec = bench.gql_spec(cache=True)
        async with running(spec, bench.config, "gql-warm") as server:
            await _verify_q(bench, server, bench.staff_token)
            warm_headers = bench.headers() | bench.config.warm_headers
            result, _ = await measure(
                bench.config, server, _q_body(spec.name), expect='"edges"', headers=warm_headers
            )
            bench.row("Q", "gql", "warm", result, note="response cache on", round=round_number)


async def _walk_to_page_199(bench: Bench, url: str) -> str:
    """The endCursor of page 199 by price, walking the pages once."""
    if "page199" in bench.results.get("_cache", {}):
        return str(bench.results["_cache"]["page199"])
    after: str | None = None
    last_price = -1.0
    for page in range(1, 200):
        answer = await bench.post(url, queries.q_by_price_body(after), bench.staff_token)
        products = queries.relay_products(answer)
        queries.check_page(products)
        prices = [float(p[2]) for p in products]
        if prices != sorted(prices) or prices[0] < last_price:
            raise AssertionError(f"page {page} is not in price order")
        last_price = prices[-1]
        after = answer["data"]["products"]["pageInfo"]["endCursor"]
    assert after is not None
    bench.results.setdefault("_cache", {})["page199"] = after
    return after


async def qdeep_workload(bench: Bench) -> None:
    """Q-deep: page 200 by price (keyset after page 199's cursor) against page 1 by price,
    in alternation for BENCH_ROUNDS rounds (the target takes each page's best)."""
    spec = bench.gql_spec()
    async with running(spec, bench.config, "gql-qdeep") as server:
        await bench.ensure_tokens(spec.url, customers=False)
        cursor = await _walk_to_page_199(bench, spec.url)
        for round_number in range(1, bench.config.rounds + 1):
            for variant, after in (("price page 1", None), ("price page 200", cursor)):
                body = queries.q_by_price_body(after)
                answer = await bench.post(spec.url, body, bench.staff_token)
                queries.check_page(queries.relay_products(answer))
                result, _ = await measure(
                    bench.config, server, body, expect='"edges"', headers=bench.headers()
                )
                bench.row("Q-deep", "gql", variant, result, round=round_number)


async def _check_ledger(bench: Bench, after: str) -> None:
    """`gql check-ledger` on the bench database, recorded under the workload it follows."""
    env = os.environ | {"DATABASE_URL": bench.config.sqlalchemy_url(), "ENV": "development"}
    process = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "gql"), "check-ledger", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    text = out.decode(errors="replace").strip()
    clean = process.returncode == 0
    bench.results.setdefault("ledger", {})[after] = {"clean": clean, "output": text[-500:]}
    bench.log(f"check-ledger after {after}: {'clean' if clean else 'NOT CLEAN'}")


async def _raw_orders(
    bench: Bench, products: tuple[int, int], sampler: LockWaitSampler | None = None
) -> dict[str, Any]:
    """The raw asyncpg transaction rate on the floor's own tables (no gql triggers), on the
    products of the inclusive id range; its orders are deleted afterwards."""
    command = [
        "taskset", "-c", bench.config.server_core, sys.executable, "-m", "bench.rawsql",
        "--dsn", bench.config.dsn(), "--products", f"{products[0]}:{products[1]}",
        "--customer", str(bench.seeded.raw_customer_id),
    ]  # fmt: skip
    results = []
    for seconds, window in ((bench.config.warmup, False), (bench.config.duration, True)):
        if seconds <= 0:
            continue
        if window and sampler is not None:
            await sampler.start()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process = await asyncio.create_subprocess_exec(
            *command, "--seconds", str(seconds), cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(process.communicate(), seconds + 60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = json.loads(out)
        if window and sampler is not None:
            result["locks"] = await sampler.stop()
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        result["cpu_ms_per_tx"] = round(cpu * 1000 / max(1, result["tx"]), 3)
        results.append(result)
    conn = await asyncpg.connect(bench.config.dsn())
    try:
        await conn.execute("TRUNCATE floor.customer_order")
        await conn.execute(
            "UPDATE floor.product SET stock = $1 WHERE id = $2", HUGE_STOCK, HOT_RAW_PRODUCT
        )
    finally:
        await conn.close()
    return results[-1]


async def _orders_against_raw(
    bench: Bench,
    workload: str,
    product: tuple[int, int],
    raw_product: tuple[int, int],
    log_name: str,
) -> None:
    """placeOrder through gql against the raw transaction, in alternation BENCH_ROUNDS
    times, with lock waits sampled in every window; then `gql check-ledger`."""
    spec = bench.gql_spec()
    random_id = product if product[0] != product[1] else None
    body = {
        "query": queries.PLACE_ORDER,
        "variables": {"id": "__RANDOM_ID__" if random_id else queries.product_id(product[0])},
    }
    for round_number in range(1, bench.config.rounds + 1):
        async with running(spec, bench.config, log_name) as server:
            await bench.ensure_tokens(spec.url, customers=True)
            probe = {"query": body["query"], "variables": {"id": queries.product_id(product[0])}}
            answer = await bench.post(spec.url, probe, bench.customer_tokens[0])
            if answer["data"]["placeOrder"]["__typename"] != "PlaceOrderSuccess":
                raise AssertionError(f"placeOrder answered {answer}")
            result, (locks,) = await measure(
                bench.config,
                server,
                body,
                expect="PlaceOrderSuccess",
                tokens=bench.customer_tokens,
                random_id=random_id,
                random_id_type="Product",
                companions=[bench.lock_sampler()],
            )
            bench.row(workload, "gql", "placeOrder", result, round=round_number, locks=locks)
            bench.log(f"  lock waits: {locks}")
        raw = await _raw_orders(bench, raw_product, bench.lock_sampler())
        raw |= {"round": round_number}
        bench.results.setdefault("raw", {}).setdefault(workload, []).append(raw)
        bench.log(
            f"{workload} raw asyncpg (round {round_number}): {raw['tps']} tx/s, "
            f"p99 {raw['p99_ms']} ms, {raw['cpu_ms_per_tx']} CPU ms/tx, locks {raw['locks']}"
        )
    await _check_ledger(bench, workload)


async def o_workload(bench: Bench) -> None:
    """O: placeOrder of 1 unit of one hot product by 64 customers, against the raw
    transaction on its own hot product."""
    hot, raw_hot = (HOT_ORDER_PRODUCT,) * 2, (HOT_RAW_PRODUCT,) * 2
    await _orders_against_raw(bench, "O", hot, raw_hot, "gql-orders")


async def ospread_workload(bench: Bench) -> None:
    """O-spread: placeOrder of 1 unit of a random product among 10,000 by 64 customers,
    against the raw transaction spread the same way."""
    await _orders_against_raw(
        bench, "O-spread", SPREAD_PRODUCTS, SPREAD_PRODUCTS, "gql-orders-spread"
    )


async def qww_workload(bench: Bench) -> None:
    """Qw+W: Q with the response cache on while 20 placeOrder/s hit products that are not on
    the page, against Qw on the same server without writes, in alternation."""
    spec = bench.gql_spec(cache=True)
    off_page = (51, SPREAD_PRODUCTS[1])
    for round_number in range(1, bench.config.rounds + 1):
        async with running(spec, bench.config, "gql-warm-writes") as server:
            await bench.ensure_tokens(spec.url, customers=True)
            # O-spread may have sold units of these products.
            await _verify_q(bench, server, bench.staff_token, seeded=False)
            headers = bench.headers() | bench.config.warm_headers
            alone, _ = await measure(
                bench.config, server, queries.q_body(), expect='"edges"', headers=headers
            )
            bench.row("Qw+W", "gql", "Qw", alone, round=round_number)
            stream = OrderStream(spec.url, bench.customer_tokens, off_page)
            mixed, (writes,) = await measure(
                bench.config,
                server,
                queries.q_body(),
                expect='"edges"',
                headers=headers,
                companions=[stream],
            )
            bench.row("Qw+W", "gql", "Qw+W", mixed, round=round_number, writes=writes)
            bench.log(f"  writes: {writes}")
    await _check_ledger(bench, "Qw+W")


async def _subscribers(
    bench: Bench, server: Server, protocol: str, count: int, tokens: list[str]
) -> dict[str, Any]:
    """Run the subscriber process on the load core; RSS of the server before and after."""
    with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as handle:
        handle.write("\n".join(tokens))
    url = server.spec.url.replace("http://", "ws://")
    trigger = (
        server.spec.url
        if protocol == "gql"
        else url.replace("ws://", "http://").replace("/ws", "/broadcast")
    )
    command = [
        "taskset", "-c", bench.config.load_core, sys.executable, "-m", "bench.subscribers",
        "--protocol", protocol, "--url", url, "--trigger-url", trigger, "--count", str(count),
        "--tokens", handle.name, "--product-id", str(EVENT_PRODUCT),
        "--events", str(bench.config.events),
    ]  # fmt: skip
    env = os.environ | {"BENCH_STAFF_TOKEN": bench.staff_token}
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None

    async def line() -> dict[str, Any]:
        raw = await asyncio.wait_for(process.stdout.readline(), 300)  # type: ignore[union-attr]
        if not raw:
            raise RuntimeError("the subscriber process ended early")
        message: dict[str, Any] = json.loads(raw)
        return message

    try:
        await line()  # ready
        await asyncio.sleep(0.5)
        rss_before = rss_kib(server.pid)
        process.stdin.write(b"connect\n")
        await process.stdin.drain()
        connected = await line()
        await asyncio.sleep(0.5)
        rss_after = rss_kib(server.pid)
        process.stdin.write(b"go\n")
        await process.stdin.drain()
        done = await line()
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        os.unlink(handle.name)
    per_sub = (rss_after - rss_before) / max(1, connected["connected"])
    return {
        "subscribers": count,
        "connected": connected["connected"],
        "failed": connected["failed"],
        "receiving": connected["receiving"],
        "held": done["held"],
        "connect_seconds": connected["connect_seconds"],
        "p50_ms": done["p50_ms"],
        "p99_ms": done["p99_ms"],
        "max_ms": done["max_ms"],
        "message_bytes": done["message_bytes"],
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_after_mib": round(rss_after / 1024, 1),
        "kb_per_subscriber": round(per_sub * 1.024, 1),
        "errors": connected["errors"] + done["errors"],
    }


async def s_workload(bench: Bench) -> None:
    """S: stockChanged fan-out to 1,000 and 5,000 subscribers, against the raw WebSocket floor."""
    for count in bench.config.subscribers:
        spec = bench.gql_spec()
        async with running(spec, bench.config, f"gql-s{count}") as server:
            await bench.ensure_tokens(spec.url, customers=False)
            tokens = await mint_sessions(bench.config, bench.seeded.subscriber_user_ids[:count])
            result = await _subscribers(bench, server, "gql", count, tokens)
        bench.results.setdefault("subscriptions", []).append({"server": "gql"} | result)
        bench.log(f"S gql {count}: {result}")
        spec = servers.ws_floor(bench.config)
        async with running(spec, bench.config, f"ws-floor-s{count}") as server:
            result = await _subscribers(bench, server, "raw", count, [])
        bench.results.setdefault("subscriptions", []).append({"server": "ws-floor"} | result)
        bench.log(f"S ws-floor {count}: {result}")
