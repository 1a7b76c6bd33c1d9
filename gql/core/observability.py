"""Logs in JSON with the request id, and Prometheus metrics of requests, errors and pools."""

import asyncio
import logging
import os
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from gql.core.config import Settings
from gql.core.db import Database

# Operation names come from clients: only tidy ones become metric labels, and only so many.
OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_OPERATION_LABELS = 200
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GAUGES = {
    "gql_active_subscriptions": "Live stockChanged subscriptions.",
    "gql_db_pool_size": "Connections the pool keeps.",
    "gql_db_pool_checked_out": "Connections in use now.",
    "gql_db_pool_overflow": "Connections beyond the pool size.",
}
# The pool's method behind each pool gauge (PostgreSQL's queue pool has them all).
POOL_GAUGES = {
    "gql_db_pool_size": "size",
    "gql_db_pool_checked_out": "checkedout",
    "gql_db_pool_overflow": "overflow",
}


@dataclass
class RequestRecord:
    """What one request did, filled in as it goes: logged and counted at its end."""

    request_id: str
    operation_name: str | None = None
    operation_type: str | None = None
    error_codes: list[str] = field(default_factory=list)


current_request: ContextVar[RequestRecord | None] = ContextVar("gql_request", default=None)


def _record_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        request = current_request.get()
        record.request_id = request.request_id if request is not None else None
        return record

    make.gql_request_id = True  # type: ignore[attr-defined]
    return make


def tag_log_records_with_request_id() -> None:
    """Every log record made while a request runs carries its `request_id`."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "gql_request_id", False):
        logging.setLogRecordFactory(_record_factory(factory))


# Uvicorn's loggers: its own handlers (colours, text) give way to ours; its access lines
# give way to gql.access, which every request writes with its id and operation.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
UVICORN_ACCESS = "uvicorn.access"


def configure_logging(settings: Settings) -> None:
    """One stderr handler on the root logger: JSON lines (or text) at the configured level;
    uvicorn's loggers write through it, and its access log is left to gql.access."""
    tag_log_records_with_request_id()
    handler = logging.StreamHandler(sys.stderr)
    if settings.effective_log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
                # Uvicorn adds a copy of its message with terminal colour codes.
                reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    logging.getLogger(UVICORN_ACCESS).setLevel(logging.WARNING)


def ensure_logging(settings: Settings) -> None:
    """Configure logging as `gql serve` does, unless the process configured its root logger
    already (`gql serve`, a `--log-config`, a test runner): the app logs the same however
    it is started (`uvicorn --factory`, workers, gunicorn)."""
    if not logging.getLogger().handlers:
        configure_logging(settings)


class Metrics:
    """The application's Prometheus metrics.

    One process: a registry of its own (one per app, so tests stay apart), served as is.
    Several processes (`uvicorn --workers N`, with PROMETHEUS_MULTIPROC_DIR set before they
    start): prometheus_client's multiprocess mode, where every process writes its values to
    files in that directory and a scrape of any process sums them all; gauges sum the live
    processes only.
    """

    def __init__(
        self,
        database: Database,
        active_subscriptions: Callable[[], int],
        multiprocess_dir: Path | None = None,
    ) -> None:
        self.database = database
        self.active_subscriptions = active_subscriptions
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gql_requests",
            "GraphQL HTTP requests by operation and HTTP status.",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gql_request_duration_seconds",
            "GraphQL HTTP request latency by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "gql_errors", "GraphQL errors by code.", ["code"], registry=self.registry
        )
        self.order_refusals = Counter(
            "gql_order_refusals",
            "placeOrder calls refused for want of stock, and those refused for too many.",
            ["outcome"],
            registry=self.registry,
        )
        self.response_cache = Counter(
            "gql_response_cache",
            "GraphQL POSTs by what the response cache did: hit (answered from memory), miss "
            "(a cacheable read, computed) or bypass (not a cacheable read).",
            ["outcome"],
            registry=self.registry,
        )
        self.compiled_reads = Counter(
            "gql_compiled_reads",
            "Catalog reads answered by their compiled form (gql.catalog.compiled) instead of "
            "the general executor.",
            registry=self.registry,
        )
        self.check_rounds = Counter(
            "gql_catalog_check_rounds",
            "Rounds of the shared version and session checks of catalog reads "
            "(gql.cache.checks): hits and misses per round tell how many reads share one.",
            registry=self.registry,
        )
        self.gauges = {
            name: Gauge(name, documentation, registry=self.registry, multiprocess_mode="livesum")
            for name, documentation in GAUGES.items()
        }
        self._operations: set[str] = set()

    def refresh(self) -> None:
        """Read the gauges' current values (live subscriptions, the connection pool)."""
        pool: Any = self.database.engine.sync_engine.pool
        values = {"gql_active_subscriptions": self.active_subscriptions()}
        for name, reader in POOL_GAUGES.items():
            method = getattr(pool, reader, None)
            if method is not None:
                values[name] = method()
        for name, value in values.items():
            self.gauges[name].set(float(value))

    def exposition(self) -> bytes:
        """The text a scrape gets: this process's numbers, or every process's summed."""
        self.refresh()
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    async def refresh_forever(self, interval: float = 1.0) -> None:
        """Keep this process's gauges current for the other processes' scrapes."""
        while True:
            self.refresh()
            await asyncio.sleep(interval)

    def forget_process(self) -> None:
        """This process is ending: its gauges no longer count (multiprocess mode)."""
        if self.multiprocess_dir is not None:
            mark_process_dead(os.getpid(), str(self.multiprocess_dir))  # type: ignore[no-untyped-call]

    def operation_label(self, record: RequestRecord) -> str:
        """A bounded label for the operation: its name, `anonymous`, or `other`."""
        name = record.operation_name
        if not name:
            return "anonymous"
        if not OPERATION_NAME.fullmatch(name):
            return "other"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_LABELS:
                return "other"
            self._operations.add(name)
        return name

    def observe(self, record: RequestRecord, status: int, seconds: float) -> None:
        """Count one finished GraphQL request."""
        operation = self.operation_label(record)
        self.requests.labels(operation, str(status)).inc()
        self.latency.labels(operation).observe(seconds)
        for code in record.error_codes:
            self.errors.labels(code).inc()
