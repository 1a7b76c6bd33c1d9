"""The benchmark's knobs, read once from BENCH_* environment variables."""

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
# BENCH_ONLY names, case-insensitive, without "-", "_" or "+" (O-spread: OSPREAD, Qw+W: QWW).
WORKLOADS = ("Q", "QDEEP", "O", "OSPREAD", "QWW", "S", "R")


def _str(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _workloads() -> frozenset[str]:
    raw = os.environ.get("BENCH_ONLY", "").strip()
    if not raw:
        return frozenset(WORKLOADS)
    chosen = {
        part.strip().upper().replace("-", "").replace("_", "").replace("+", "")
        for part in raw.split(",")
    }
    unknown = chosen - set(WORKLOADS)
    if unknown:
        raise SystemExit(
            f"BENCH_ONLY: unknown workload(s) {sorted(unknown)}; pick from {WORKLOADS}"
        )
    return frozenset(chosen)


def _headers(name: str) -> dict[str, str]:
    """`Name: value` pairs separated by newlines or `;;`."""
    headers = {}
    for line in os.environ.get(name, "").replace(";;", "\n").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            headers[key.strip()] = value.strip()
    return headers


def _settings(name: str) -> dict[str, str]:
    """`NAME=value` pairs separated by commas or whitespace."""
    pairs = os.environ.get(name, "").replace(",", " ").split()
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


@dataclass(frozen=True)
class BenchConfig:
    """Durations, sizes, addresses and the selected workloads of one run."""

    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    database: str = "gql_bench"
    duration: float = 10.0
    warmup: float = 3.0
    connections: int = 64
    count_requests: int = 20
    rounds: int = 2
    subscribers: tuple[int, ...] = (1000, 5000)
    events: int = 5
    peers: bool = False
    workloads: frozenset[str] = frozenset(WORKLOADS)
    warm_headers: dict[str, str] = field(default_factory=dict)
    gql_env: dict[str, str] = field(default_factory=dict)
    server_core: str = "0"
    load_core: str = "1"
    base_port: int = 18000

    @classmethod
    def from_env(cls) -> "BenchConfig":
        """The configuration given by the environment (defaults: a full run, ~6 minutes)."""
        subs = os.environ.get("BENCH_SUBSCRIBERS", "").strip()
        return cls(
            pg_host=_str("BENCH_PG_HOST", "127.0.0.1"),
            pg_port=_int("BENCH_PG_PORT", 5432),
            pg_user=_str("BENCH_PG_USER", "postgres"),
            database=_str("BENCH_DB", "gql_bench"),
            duration=_float("BENCH_DURATION", 10.0),
            warmup=_float("BENCH_WARMUP", 3.0),
            connections=_int("BENCH_CONNECTIONS", 64),
            count_requests=_int("BENCH_COUNT_REQUESTS", 20),
            rounds=max(1, _int("BENCH_ROUNDS", 2)),
            subscribers=tuple(int(n) for n in subs.split(",")) if subs else (1000, 5000),
            events=_int("BENCH_EVENTS", 5),
            peers=os.environ.get("BENCH_PEERS", "").strip() in {"1", "true", "yes"},
            workloads=_workloads(),
            warm_headers=_headers("BENCH_WARM_HEADERS"),
            gql_env=_settings("BENCH_GQL_ENV"),
            base_port=_int("BENCH_BASE_PORT", 18000),
        )

    def dsn(self, port: int | None = None, database: str | None = None) -> str:
        """A libpq-style URL of the bench database (or another), optionally via a proxy port."""
        return (
            f"postgresql://{self.pg_user}@{self.pg_host}:{port or self.pg_port}/"
            f"{database or self.database}"
        )

    def sqlalchemy_url(self, port: int | None = None) -> str:
        """The bench database as gql's DATABASE_URL (asyncpg driver)."""
        return self.dsn(port).replace("postgresql://", "postgresql+asyncpg://", 1)
