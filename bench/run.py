"""`make bench`: seed, then every selected workload against gql and its baselines; report."""

import asyncio
import os
import platform
import resource
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from bench import report, servers
from bench.config import BenchConfig
from bench.proxy import CountingProxy
from bench.readmix import r_workload
from bench.seed import seed
from bench.workloads import (
    Bench,
    count_phase,
    o_workload,
    ospread_workload,
    q_workload,
    qdeep_workload,
    qww_workload,
    s_workload,
)


def _machine() -> str:
    model = "unknown CPU"
    for line in open("/proc/cpuinfo").read().splitlines():  # noqa: SIM115
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB RAM, {platform.platform()}"


def _loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def _version(*command: str) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "missing"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def _prepare_environment() -> None:
    """Settings shared by gql processes and the bench (which signs subscriber tokens)."""
    os.environ.setdefault("JWT_SECRET", "gql-bench-" + secrets.token_hex(24))
    os.environ.setdefault("ACCESS_TOKEN_TTL_SECONDS", "3600")  # tokens outlive the whole run
    os.environ["ENV"] = "production"
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by every server


def _busy_share(seconds: float = 2.0) -> float:
    """Share of the machine's CPU in use over a short sample (0..1), from /proc/stat."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


def _wait_for_quiet(limit: float) -> float:
    """Wait (up to `limit` s) until other work leaves the machine mostly idle; the busy share."""
    deadline = time.monotonic() + limit
    while (busy := _busy_share()) > 0.15 and time.monotonic() < deadline:
        print(f"[bench] machine {busy:.0%} busy with other work; waiting", file=sys.stderr)
        time.sleep(5)
    return busy


async def main() -> int:
    """Run the benchmark; 0 when every selected workload ran."""
    config = BenchConfig.from_env()
    _prepare_environment()
    busy = _wait_for_quiet(float(os.environ.get("BENCH_WAIT_QUIET", "0") or 0))
    started = time.monotonic()
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": _machine(),
            "python": sys.version.split()[0],
            "postgresql": _version("psql", "--version"),
            "wrk": _version("wrk", "-v"),
            "node": _version("node", "--version") if config.peers else None,
            "duration": config.duration,
            "rounds": config.rounds,
            "warmup": config.warmup,
            "connections": config.connections,
            "server_core": config.server_core,
            "load_core": config.load_core,
            "workloads": sorted(config.workloads),
            "peers": config.peers,
            "loadavg": _loadavg(),
            "busy_at_start": round(busy, 2),
            "gql_settings": {"ENV": "production", "LOG_LEVEL": "WARNING", **config.gql_env},
        },
        "notes": [],
    }
    print(f"[bench] seeding {config.database} (10,000 products x 4 images)", file=sys.stderr)
    seeded = await seed(config, max(config.subscribers) if "S" in config.workloads else 0)
    proxy = CountingProxy(config.base_port + 9, config.pg_host, config.pg_port)
    await proxy.start()
    factories = [servers.floor, servers.baseline, lambda c, p: bench.gql_spec(p)]
    if config.peers:
        for name, entry, factory in (
            ("postgraphile4", servers.POSTGRAPHILE4, servers.postgraphile4),
            ("postgraphile5", servers.POSTGRAPHILE5, servers.postgraphile5),
        ):
            if entry.exists() and (name != "postgraphile5" or servers.NODE22.exists()):
                factories.append(factory)
            else:
                results["notes"].append(
                    f"{name} skipped: run `npm ci --prefix bench/peers/{name}` first"
                )
    failed = False
    async with httpx.AsyncClient(timeout=60) as client:
        bench = Bench(config, seeded, client, proxy, results)
        steps = [
            ({"Q", "QDEEP", "O"}, lambda: count_phase(bench, factories)),
            ({"Q"}, lambda: q_workload(bench, factories)),
            ({"QDEEP"}, lambda: qdeep_workload(bench)),
            ({"O"}, lambda: o_workload(bench)),
            ({"OSPREAD"}, lambda: ospread_workload(bench)),
            ({"QWW"}, lambda: qww_workload(bench)),
            ({"S"}, lambda: s_workload(bench)),
            ({"R"}, lambda: r_workload(bench, factories)),
        ]
        try:
            for needs, step in steps:
                if needs & config.workloads:
                    await step()
        except Exception as error:
            failed = True
            results["notes"].append(f"run stopped: {error!r}")
            bench.log(f"FAILED: {error!r}")
            raise
        finally:
            await proxy.stop()
            results["meta"]["elapsed_seconds"] = round(time.monotonic() - started)
            report.write(results)
            print(report.markdown({k: v for k, v in results.items() if not k.startswith("_")}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
