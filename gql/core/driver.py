"""The asyncpg fast path: fixed statements compiled once and run straight on a pooled
connection's driver, past SQLAlchemy's execution and result layers (what that saves is in
the README's Performance section). Only for statements whose parameters need no type
processing (ints, strings, decimals, aware datetimes, arrays of those); values come back
as the driver decodes them. DB_ECHO and `Database.driver_listeners` see every statement;
SQLAlchemy's events do not."""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.util import greenlet_spawn

from gql.core.db import DATABASE_KEY, DRIVER_READS_KEY, Database


def driver_call(
    database: Database, statement: Executable, params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """The SQL and positional arguments of a statement about to run on the driver, told
    to the listeners (echo, tests counting statements)."""
    form = _driver_form(statement, database.engine.dialect)
    arguments = form.arguments(params)
    for listener in database.driver_listeners:
        listener(form.sql)
    return form.sql, arguments


# Runs one fixed read statement with its parameters: its rows.
Reader = Callable[[Executable, Mapping[str, Any]], Awaitable[Sequence[Sequence[Any]]]]


@asynccontextmanager
async def reading(database: Database) -> AsyncIterator[Reader]:
    """Fixed read statements run one after another on one pooled connection, outside any
    transaction (as a query's session runs them on PostgreSQL).

    On PostgreSQL they go straight to the connection's asyncpg driver: for the few
    statements of a read, SQLAlchemy's execution path costs more than the statements
    (README, Performance). Only for statements whose parameters need no type processing;
    result values come as the driver decodes them. DB_ECHO and `driver_listeners` see them;
    SQLAlchemy's events do not. SQLite runs them through SQLAlchemy. The connection is
    taken at the first statement: a block that runs none takes none."""
    if database.is_sqlite:
        connections: list[AsyncConnection] = []

        async def read_sqlite(
            statement: Executable, params: Mapping[str, Any]
        ) -> Sequence[Sequence[Any]]:
            if not connections:
                connections.append(await database.engine.connect())
            return (await connections[0].execute(statement, params)).all()

        try:
            yield read_sqlite
        finally:
            if connections:
                await connections[0].close()
        return
    held: list[Any] = []  # the pooled connection, once taken
    broken: list[BaseException] = []
    gate = database.read_gate()

    async def read(statement: Executable, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        sql, arguments = driver_call(database, statement, params)
        if not held:
            await gate.acquire()
            try:
                held.append(await database.engine.raw_connection())
            except BaseException:
                gate.release()
                raise
        driver: asyncpg.Connection = held[0].driver_connection
        try:
            rows: list[asyncpg.Record] = await driver.fetch(sql, *arguments)
        except BaseException as error:
            # The server refusing a statement leaves the connection fine; anything else
            # (cancelled mid-message, disconnected) must not reach the pool again.
            if not isinstance(error, asyncpg.PostgresError) or driver.is_closed():
                broken.append(error)
            raise
        return rows

    try:
        yield read
    finally:
        # In a greenlet, as every pool operation: returning an overflow connection closes it.
        try:
            if held and broken:
                error = broken[0]
                await greenlet_spawn(
                    held[0].invalidate, error if isinstance(error, Exception) else None
                )
            elif held:
                await greenlet_spawn(held[0].close)
        finally:
            if held:
                gate.release()


async def read_rows(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Every row of a fixed read statement (its values all bound parameters), on the
    session's connection.

    A PostgreSQL session without a transaction (a query's) runs it straight on the
    connection's asyncpg driver, compiled once: for a page of products SQLAlchemy's
    execution and result path cost as much as the statement itself. Only for parameters
    that need no type processing (ints, strings, decimals, aware datetimes, arrays of
    those); values come as the driver decodes them. Other sessions, and SQLite, run it
    through SQLAlchemy.
    """
    connection = await session.connection()
    database = session.info.get(DATABASE_KEY)
    if not session.info.get(DRIVER_READS_KEY) or not isinstance(database, Database):
        return (await connection.execute(statement, params)).all()
    sql, arguments = driver_call(database, statement, params)
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    try:
        rows: list[asyncpg.Record] = await driver.fetch(sql, *arguments)
    except Exception:
        if driver.is_closed():
            # Run through SQLAlchemy, which finds the connection closed too and handles the
            # disconnect its way: every pooled connection opened before now is replaced,
            # and the error it raises says the database is unavailable.
            return (await connection.execute(statement, params)).all()
        raise  # the server refused the statement; the connection is fine
    except BaseException:
        # Cancelled mid-message: the pool must not hand this connection out again.
        await connection.invalidate()
        raise
    return rows


@dataclass(frozen=True)
class _DriverForm:
    """A statement as the driver runs it: its SQL, and where each argument comes from."""

    sql: str
    names: tuple[str, ...]
    # Values the statement itself holds (literals); the other names must be given.
    fixed: dict[str, Any]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments; a missing value is an error, as in SQLAlchemy."""
        try:
            return [params[name] if name in params else self.fixed[name] for name in self.names]
        except KeyError as missing:
            raise ValueError(f"A value is required for bind parameter {missing}") from None


# Compiled once per statement object, and forgotten with it.
_driver_forms: "WeakKeyDictionary[Executable, _DriverForm]" = WeakKeyDictionary()


def _driver_form(statement: Executable, dialect: Dialect) -> _DriverForm:
    form = _driver_forms.get(statement)
    if form is None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        if compiled.post_compile_params:
            raise ValueError("expanding parameters (IN lists) cannot run on the driver")
        names = tuple(compiled.positiontup or ())
        fixed = {name: compiled.params[name] for name in names if not compiled.binds[name].required}
        form = _driver_forms[statement] = _DriverForm(str(compiled), names, fixed)
    return form
