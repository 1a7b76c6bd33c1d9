"""Load: wrk (pinned to the load core) against a running server, and the statement count."""

import asyncio
import json
import resource
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from bench.config import BENCH_DIR, BenchConfig
from bench.proxy import HOUSEKEEPING, OVERHEAD, StatementCounter
from bench.servers import Server, cpu_between, cpu_census, descendants, rss_kib, wait_idle

LUA = BENCH_DIR / "wrk" / "graphql.lua"


@dataclass
class LoadResult:
    """One measured window of one server under one workload."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    bad: int
    socket_errors: int
    cpu_ms_per_req: float
    db_cpu_ms_per_req: float
    load_cpu_pct: float
    other_cpu_pct: float
    other_top: dict[str, float]
    rss_mib: float
    sample_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly fields."""
        return asdict(self)


class Companion(Protocol):
    """Something that runs beside the measured window only (a sampler, a stream of writes)."""

    async def start(self) -> None:
        """Begin, right before the window."""

    async def stop(self) -> dict[str, Any]:
        """End, right after the window; what it saw."""


def _write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text)
    return str(path)


async def _wrk(
    config: BenchConfig, url: str, seconds: float, env: dict[str, str]
) -> dict[str, Any]:
    command = [
        "taskset", "-c", config.load_core, "wrk", "-t1", f"-c{config.connections}",
        f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA), url,
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), seconds + 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = out.decode(errors="replace")
    summary = next((line for line in text.splitlines() if line.startswith("BENCH_JSON ")), None)
    if summary is None:
        raise RuntimeError(f"wrk printed no summary:\n{text}")
    result: dict[str, Any] = json.loads(summary.removeprefix("BENCH_JSON "))
    sample = next((line for line in text.splitlines() if line.startswith("BENCH_SAMPLE ")), "")
    result["sample"] = sample.removeprefix("BENCH_SAMPLE ")
    return result


async def measure(
    config: BenchConfig,
    server: Server,
    body: dict[str, Any],
    *,
    expect: str,
    headers: dict[str, str] | None = None,
    tokens: list[str] | None = None,
    warmup: bool = True,
    random_id: tuple[int, int] | None = None,
    random_id_type: str = "",
    companions: list[Companion] | None = None,
    mix: str = "",
) -> tuple[LoadResult, list[dict[str, Any]]]:
    """Warm up, then one timed wrk run; server CPU from /proc before and after it. With
    `random_id`, each request's `__RANDOM_ID__` becomes an id drawn from that range (the
    global id of `random_id_type` and that number, when given); the
    companions run beside the window alone, and what they saw is returned with the result.
    With `mix` (the lines of a read mix, bench.mix), those requests in turn instead of `body`."""
    import os

    with tempfile.TemporaryDirectory(prefix="gql-bench-") as tmp:
        directory = Path(tmp)
        env = os.environ | {
            "BENCH_BODY": _write(directory, "body.json", json.dumps(body)),
            "BENCH_HEADERS": _write(
                directory, "headers.txt", "".join(f"{k}: {v}\n" for k, v in (headers or {}).items())
            ),
            "BENCH_TOKENS": _write(directory, "tokens.txt", "\n".join(tokens or [])),
            "BENCH_EXPECT": expect,
            "BENCH_RANDOM_ID": f"{random_id[0]}:{random_id[1]}" if random_id else "",
            "BENCH_RANDOM_ID_TYPE": random_id_type,
            "BENCH_MIX": _write(directory, "mix.txt", mix) if mix else "",
        }
        await wait_idle(server.pid)
        if warmup and config.warmup > 0:
            await _wrk(config, server.spec.url, config.warmup, env)
            # Requests that the warm-up left in flight must not count in the window.
            await wait_idle(server.pid)
        for companion in companions or []:
            await companion.start()
        before = cpu_census(config.database)
        wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        raw = await _wrk(config, server.spec.url, config.duration, env)
        wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        after = cpu_census(config.database)
        seen = [await companion.stop() for companion in companions or []]
    cpu = cpu_between(before, after, set(descendants(server.pid)))
    cpu["load"] += (wrk_after.ru_utime + wrk_after.ru_stime) - (
        wrk_before.ru_utime + wrk_before.ru_stime
    )
    others = sorted(
        ((k.removeprefix("other:"), v) for k, v in cpu.items() if k.startswith("other:")),
        key=lambda item: -item[1],
    )
    requests = max(1, raw["requests"])
    seconds = raw["duration_us"] / 1e6
    result = LoadResult(
        requests=raw["requests"],
        seconds=round(seconds, 2),
        rps=round(raw["requests"] / seconds, 1),
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p90_ms=round(raw["p90_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        bad=raw["bad"],
        socket_errors=raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["timeouts"],
        cpu_ms_per_req=round(cpu["server"] * 1000 / requests, 3),
        db_cpu_ms_per_req=round(cpu["db"] * 1000 / requests, 3),
        load_cpu_pct=round(cpu["load"] * 100 / seconds, 1),
        other_cpu_pct=round(cpu["other"] * 100 / seconds, 1),
        other_top={name: round(v * 100 / seconds, 1) for name, v in others[:4] if v > 0},
        rss_mib=round(rss_kib(server.pid) / 1024, 1),
        sample_error=raw["sample"],
    )
    return result, seen


@dataclass
class StatementCount:
    """Statements per request seen by the counting proxy."""

    per_request: float
    with_overhead: float
    statements: dict[str, float]
    background: list[str]


async def background_statements(counter: StatementCounter, seconds: float) -> set[str]:
    """Statements a server runs by itself while idle (pollers, keep-alives), to leave out."""
    _, _, before = counter.snapshot()
    await asyncio.sleep(seconds)
    _, _, after = counter.snapshot()
    after.subtract(before)
    return {text for text, n in after.items() if n > 0}


async def count_statements(
    client: httpx.AsyncClient,
    counter: StatementCounter,
    url: str,
    bodies: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
    background: frozenset[str] = frozenset(),
) -> StatementCount:
    """Send the bodies one at a time (after 3 warm-up requests); divide what the proxy saw.

    Statements in `background` (seen while the server was idle) and housekeeping (the
    budgets' shared writes, the driver's setup of a new connection) are not the requests'
    work.
    """
    for body in bodies[:3]:
        (await client.post(url, json=body, headers=headers)).raise_for_status()
    _, _, before = counter.snapshot()
    for body in bodies:
        (await client.post(url, json=body, headers=headers)).raise_for_status()
    _, _, texts = counter.snapshot()
    texts.subtract(before)
    # Transaction control and pings stay counted: only the idle server's own work is left out.
    background = background | {t for t, c in texts.items() if c > 0 and HOUSEKEEPING.match(t)}
    mine = {
        text: c
        for text, c in texts.items()
        if c > 0 and (text not in background or OVERHEAD.match(text))
    }
    n = len(bodies)
    return StatementCount(
        per_request=round(sum(c for t, c in mine.items() if not OVERHEAD.match(t)) / n, 2),
        with_overhead=round(sum(mine.values()) / n, 2),
        statements={t: round(c / n, 2) for t, c in sorted(mine.items(), key=lambda i: -i[1])},
        background=sorted(t for t in background if not OVERHEAD.match(t)),
    )
