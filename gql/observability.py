"""Logs in JSON with the request id, and Prometheus metrics of requests, errors and pools."""

import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pythonjsonlogger.json import JsonFormatter

from gql.config import Settings
from gql.db import Database

# Operation names come from clients: only tidy ones become metric labels, and only so many.
OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_OPERATION_LABELS = 200
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


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


def configure_logging(settings: Settings) -> None:
    """One stderr handler on the root logger: JSON lines (or text) at the configured level."""
    tag_log_records_with_request_id()
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


class PoolCollector(Collector):
    """The database connection pool, read at scrape time."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Pool size, connections in use and overflow (PostgreSQL's queue pool)."""
        pool: Any = self.database.engine.sync_engine.pool
        for name, documentation, reader in (
            ("gql_db_pool_size", "Connections the pool keeps.", "size"),
            ("gql_db_pool_checked_out", "Connections in use now.", "checkedout"),
            ("gql_db_pool_overflow", "Connections beyond the pool size.", "overflow"),
        ):
            method = getattr(pool, reader, None)
            if method is not None:
                yield GaugeMetricFamily(name, documentation, value=float(method()))


class Metrics:
    """The application's Prometheus registry (one per app, so tests stay apart)."""

    def __init__(self, database: Database, active_subscriptions: Callable[[], int]) -> None:
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
        gauge = Gauge(
            "gql_active_subscriptions",
            "Live stockChanged subscriptions in this process.",
            registry=self.registry,
        )
        gauge.set_function(lambda: float(active_subscriptions()))
        self.registry.register(PoolCollector(database))
        self._operations: set[str] = set()

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
