"""Ledger order: where each movement stands in the one order every subscriber sees, and the
horizon below which that order is final.

Writers of different products take no lock in common, so ledger ids (drawn at insert) do
not follow commit order: a row with a smaller id may become visible after one with a
larger id. Each row therefore carries an epoch, and rows are delivered in (epoch, id) order
once their epoch is below the horizon: the oldest transaction still running when the
reading statement's snapshot was taken (`pg_snapshot_xmin`).

A row's epoch is the later of its writing transaction's id and the epoch of its product's
previous row, computed under the product's row lock (`next_epoch`) and kept on the product
(`ledger_epoch`). So:
- rows of one product are delivered in the order they were committed (a transaction that
  waited for the product's lock may hold an older id than the one it waited for);
- a row not yet committed has an epoch at or above its own transaction's id, which is at
  or above the horizon of any snapshot taken while it runs: nothing can appear below a
  horizon once read, so what is delivered is final and nothing is skipped or repeated.
A long transaction holds delivery back until it ends; it never loses an event. SQLite
writers commit one at a time, in id order: every epoch is 0, whatever is committed is final.
"""

import base64
import binascii
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Text, literal, select, text, tuple_
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func

from gql.catalog.models import Product
from gql.inventory.models import StockMovement

_CURSOR_PREFIX = "ledger:"
# No horizon on SQLite: everything committed is final there.
_NO_HORIZON = 2**63 - 1


class Position(NamedTuple):
    """A movement's place in delivery order."""

    epoch: int
    id: int

    def cursor(self) -> str:
        """The opaque cursor that resumes a subscription after this movement."""
        text = f"{_CURSOR_PREFIX}{self.epoch}:{self.id}"
        return base64.urlsafe_b64encode(text.encode()).decode()

    @classmethod
    def from_cursor(cls, cursor: str) -> "Position | None":
        """The position a cursor names; None for anything that is not one of ours."""
        try:
            text = base64.urlsafe_b64decode(cursor.encode()).decode()
        except (binascii.Error, UnicodeError, ValueError):
            return None
        epoch, _, movement_id = text.removeprefix(_CURSOR_PREFIX).partition(":")
        if not text.startswith(_CURSOR_PREFIX) or not (epoch.isdigit() and movement_id.isdigit()):
            return None
        return cls(int(epoch), int(movement_id))


START = Position(0, 0)


def position_of(movement: StockMovement) -> Position:
    """Where a ledger row stands."""
    return Position(movement.epoch, movement.id)


def _as_number(xid8: Any) -> Any:
    return sql_cast(sql_cast(xid8, Text), BigInteger)


def next_epoch(previous: Any) -> Any:
    """The epoch of a product's next row, from its previous one (PostgreSQL; run under the
    product's row lock, in the statement that changes its stock)."""
    return func.greatest(previous, _as_number(func.pg_current_xact_id()))


def _horizon(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name != "postgresql":
        return literal(_NO_HORIZON, BigInteger)
    return _as_number(func.pg_snapshot_xmin(func.pg_current_snapshot()))


def _after(position: Position) -> Any:
    return tuple_(StockMovement.epoch, StockMovement.id) > tuple_(
        literal(position.epoch, BigInteger), literal(position.id, BigInteger)
    )


async def rows_after(
    session: AsyncSession, after: Position, product_ids: frozenset[int] | None, limit: int
) -> list[tuple[StockMovement, Product]]:
    """Final ledger rows after `after`, with their products, in delivery order (at most
    `limit`)."""
    statement = (
        select(StockMovement, Product)
        .join(Product, Product.id == StockMovement.product_id)
        .where(_after(after), StockMovement.epoch < _horizon(session))
    )
    if product_ids is not None:
        statement = statement.where(StockMovement.product_id.in_(product_ids))
    rows = await session.execute(
        statement.order_by(StockMovement.epoch, StockMovement.id).limit(limit)
    )
    return [(movement, product) for movement, product in rows]


async def waiting_beyond_horizon(session: AsyncSession, after: Position) -> bool:
    """Whether committed rows after `after` wait for an older transaction to end."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    waiting = (
        select(StockMovement.id)
        .where(_after(after), StockMovement.epoch >= _horizon(session))
        .exists()
    )
    return bool(await session.scalar(select(waiting)))


async def oldest_open_writer(session: AsyncSession) -> str | None:
    """Who holds the horizon back: the open transaction with the oldest id, on any
    database of the server (PostgreSQL)."""
    row = (
        await session.execute(
            text(
                "SELECT pid, datname, usename, application_name, state, xact_start "
                "FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                "ORDER BY age(backend_xid) DESC LIMIT 1"
            )
        )
    ).first()
    if row is None:
        return None
    pid, database, user, application, state, started = row
    return (
        f"pid {pid}, database {database}, user {user}, application {application!r}, "
        f"{state}, open since {started:%Y-%m-%d %H:%M:%S %Z}"
    )


async def ledger_end(session: AsyncSession) -> Position:
    """The position of the last final movement (START for an empty ledger)."""
    row = (
        await session.execute(
            select(StockMovement.epoch, StockMovement.id)
            .where(StockMovement.epoch < _horizon(session))
            .order_by(StockMovement.epoch.desc(), StockMovement.id.desc())
            .limit(1)
        )
    ).first()
    return Position(*row) if row is not None else START


async def position_of_movement(session: AsyncSession, movement_id: int) -> Position | None:
    """Where the movement with this id stands, if it exists."""
    epoch = await session.scalar(select(StockMovement.epoch).where(StockMovement.id == movement_id))
    return Position(epoch, movement_id) if epoch is not None else None
