"""Database plumbing: the declarative Base, the engine and the session factories."""

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    DateTime,
    MetaData,
    String,
    any_,
    bindparam,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute
from sqlalchemy.types import TypeDecorator

from gql.core.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# An execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
SQLITE_WRITE_OPTION = "gql_sqlite_write"
# Session.info keys: the Database a session belongs to, and signals awaiting its commit.
DATABASE_KEY = "gql.database"
PENDING_SIGNALS_KEY = "gql.pending_signals"
# Session.info key: the session runs without a transaction, so `read_rows` may use the driver.
DRIVER_READS_KEY = "gql.driver_reads"


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored with its zone where the database can, always read back in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        """Values are datetimes (keyset cursors decode by this)."""
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; SQLite keeps no zone, so the stored value is naive UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite returns naive."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every model, with a constraint naming convention for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, and explicit BEGIN (IMMEDIATE for writers)."""

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN is turned off so that SQLAlchemy's "begin" event
        # decides how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        # A deferred transaction that later writes cannot wait for the lock: it fails at
        # once when another writer got there first. Writers therefore take it up front.
        immediate = connection.get_execution_options().get(SQLITE_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def insert_for(dialect_name: str) -> Callable[..., Any]:
    """The dialect's INSERT (`postgresql` or `sqlite`), the one with ON CONFLICT clauses."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def among(
    column: "ColumnElement[Any] | InstrumentedAttribute[Any]",
    name: str,
    item_type: Any,
    dialect_name: str,
) -> ColumnElement[bool]:
    """`column` is one of the values of the list parameter `name` (see `list_parameter`):
    one array parameter on PostgreSQL (the same prepared statement for any length), a JSON
    list read by json_each on SQLite."""
    if dialect_name == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(item_type)))
    listed = func.json_each(bindparam(name, type_=String)).table_valued("value")
    return column.in_(select(listed.c.value))


def list_parameter(dialect_name: str, values: Iterable[Any]) -> Any:
    """The value of a list parameter of `among`: a list on PostgreSQL, JSON on SQLite."""
    listed = list(values)
    return listed if dialect_name == "postgresql" else orjson.dumps(listed).decode()


class Database:
    """The engine of one database and the session factories bound to it."""

    def __init__(self, settings: Settings) -> None:
        url = settings.database_url
        options: dict[str, Any] = {"echo": settings.db_echo}
        if not settings.is_sqlite:
            options |= {
                "pool_size": settings.db_pool_size,
                "max_overflow": settings.db_max_overflow,
                "pool_pre_ping": settings.db_pool_pre_ping,
            }
        self.url = url
        self.is_sqlite = settings.is_sqlite
        self.engine = create_async_engine(url, **options)
        self.pool_capacity = settings.db_pool_size + settings.db_max_overflow
        self._read_gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine, settings.sqlite_busy_timeout_ms)
        write_engine = self.engine.execution_options(**{SQLITE_WRITE_OPTION: True})
        info = {DATABASE_KEY: self}
        self.read_session = async_sessionmaker(self.engine, expire_on_commit=False, info=info)
        # PostgreSQL reads may run without BEGIN/ROLLBACK: at READ COMMITTED a transaction
        # gives a read nothing (each statement sees its own snapshot) and costs two round
        # trips. SQLite keeps its read transaction: one snapshot across the statements.
        self.untransacted_read_session = (
            self.read_session
            if self.is_sqlite
            else async_sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
                info=info | {DRIVER_READS_KEY: True},
            )
        )
        self.write_session = async_sessionmaker(write_engine, expire_on_commit=False, info=info)
        self.commit_listeners: dict[str, list[Callable[[], None]]] = {}
        # Called with the SQL of every statement run on the driver, past SQLAlchemy's events.
        self.driver_listeners: list[Callable[[str], None]] = []
        if settings.db_echo:
            # As SQLAlchemy's own echo logs a statement.
            logger = self.engine.sync_engine.logger
            self.driver_listeners.append(lambda sql: logger.info("[driver] %s", sql))

    def read_gate(self) -> asyncio.Semaphore:
        """Driver reads take a pooled connection in the order they asked for one.

        The pool's own queue is not fair: a connection handed back goes to whichever task
        asks next, and a waiter that was woken but beaten to it queues again at the back.
        Under load most reads got a connection at once and some waited a second (p99 of
        checkout 442 ms at 900 req/s). asyncio's Semaphore serves its waiters first, in
        order; one per event loop (tests run several)."""
        loop = asyncio.get_running_loop()
        if self._read_gate is None or self._read_gate[0] is not loop:
            self._read_gate = (loop, asyncio.Semaphore(self.pool_capacity))
        return self._read_gate[1]

    def on_commit(self, signal: str, listener: Callable[[], None]) -> None:
        """Call `listener` after every commit of a transaction that raised `signal`."""
        self.commit_listeners.setdefault(signal, []).append(listener)

    def remove_commit_listener(self, signal: str, listener: Callable[[], None]) -> None:
        """Stop calling `listener`."""
        listeners = self.commit_listeners.get(signal, [])
        if listener in listeners:
            listeners.remove(listener)

    async def ping(self) -> None:
        """Run a trivial statement; raises when the database cannot be reached."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def new_session(database: Database, *, write: bool, transaction: bool = True) -> AsyncSession:
    """A fresh session; `write` sessions start their SQLite transactions with BEGIN IMMEDIATE.
    A read session with `transaction=False` runs each PostgreSQL statement on its own (no
    BEGIN/ROLLBACK round trips): only for sessions that never write."""
    if write:
        return database.write_session()
    return (database.read_session if transaction else database.untransacted_read_session)()
