"""Keyset pagination behind every Relay connection: opaque cursors, constant cost per page."""

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Numeric,
    Select,
    SmallInteger,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gql.core.driver import read_rows
from gql.core.errors import BadUserInput
from gql.core.text import is_storable

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# The bound parameter of every page statement's LIMIT.
PAGE_LIMIT = "page_limit"
# Unpadded URL-safe base64, nothing else: the decoder would skip other characters silently.
CURSOR_PATTERN = re.compile(r"[A-Za-z0-9_-]*")

T = TypeVar("T")


@dataclass(frozen=True)
class SortKey:
    """A total order: columns with their direction, ending in a unique column."""

    name: str
    columns: tuple[tuple[InstrumentedAttribute[Any], bool], ...]  # (column, descending)

    def order_by(self) -> list[ColumnElement[Any]]:
        """The ORDER BY clause of this sort."""
        return [column.desc() if desc else column.asc() for column, desc in self.columns]

    def values_of(self, entity: Any) -> list[Any]:
        """The sort values of one row, as stored in its cursor."""
        return [getattr(entity, column.key) for column, _ in self.columns]


@dataclass
class Page(Generic[T]):
    """One page of a keyset connection; cursors are encoded when asked for."""

    items: list[T]
    sort: SortKey
    has_next_page: bool
    has_previous_page: bool
    # Counts the whole filtered list, with the list's `params`.
    count_statement: Select[int]
    params: dict[str, Any]

    def cursor(self, item: T) -> str:
        """The cursor of one item of the page."""
        return encode_cursor(self.sort, self.sort.values_of(item))


def page_size(first: int | None) -> int:
    """`first` with its default, capped at MAX_PAGE_SIZE; negative is bad input."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0:
        raise BadUserInput("`first` must not be negative.", field="first")
    return min(first, MAX_PAGE_SIZE)


def _encode_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _integer_bound(column: InstrumentedAttribute[Any]) -> int:
    # Subclasses first: both are Integers.
    for sql_type, bound in ((SmallInteger, 2**15), (BigInteger, 2**63), (Integer, 2**31)):
        if isinstance(column.type, sql_type):
            return bound
    raise ValueError(f"unsupported cursor column {column.key}")


def _decode_value(column: InstrumentedAttribute[Any], raw: Any) -> Any:
    """A sort value from a cursor, or ValueError when the column could never hold it."""
    # A cursor comes back from the client: anything the database would refuse to compare
    # with the column (out of range, NUL, naive time) is a malformed cursor, not a crash.
    python_type = column.type.python_type
    if python_type is Decimal:
        if not isinstance(raw, str):
            raise ValueError("not a decimal string")
        number = Decimal(raw)
        column_type = column.type
        if not number.is_finite():
            raise ValueError("not finite")
        if isinstance(column_type, Numeric) and column_type.precision is not None:
            digits = column_type.precision - (column_type.scale or 0)
            if abs(number) >= Decimal(10) ** digits:
                raise ValueError("out of range")
        return number
    if python_type is datetime:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError("no time zone")
        return moment
    if python_type is int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise ValueError("not an integer")
        bound = _integer_bound(column)
        if not -bound <= raw < bound:
            raise ValueError("out of range")
        return raw
    if python_type is str:
        if not isinstance(raw, str) or not is_storable(raw):
            raise ValueError("not a storable string")
        return raw
    raise ValueError(f"unsupported cursor column {column.key}")


def encode_cursor(sort: SortKey, values: Sequence[Any]) -> str:
    """An opaque cursor: the sort's name and the row's sort values."""
    payload = orjson.dumps([sort.name, *(_encode_value(v) for v in values)])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(sort: SortKey, cursor: str) -> list[Any]:
    """The sort values in a cursor; a foreign, stale-order or corrupt cursor is bad input."""
    invalid = BadUserInput("`after` is not a valid cursor for this list and order.", field="after")
    if not CURSOR_PATTERN.fullmatch(cursor):
        raise invalid
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise invalid from None
    if not isinstance(payload, list) or len(payload) != len(sort.columns) + 1:
        raise invalid
    if payload[0] != sort.name:
        raise invalid
    try:
        return [
            _decode_value(column, raw)
            for (column, _), raw in zip(sort.columns, payload[1:], strict=True)
        ]
    except (ValueError, TypeError, InvalidOperation):
        raise invalid from None


def _after(sort: SortKey) -> ColumnElement[bool]:
    """Rows strictly after the sort values bound as `after_0`, `after_1`, ..."""
    columns = [column for column, _ in sort.columns]
    values = [bindparam(f"after_{i}", type_=column.type) for i, column in enumerate(columns)]
    directions = {desc for _, desc in sort.columns}
    if len(directions) == 1:
        # One direction: a row-value comparison, which an index on the same columns serves.
        (descending,) = directions
        left, right = tuple_(*columns), tuple_(*values)
        return left < right if descending else left > right
    clauses: list[ColumnElement[bool]] = []
    for i, (column, descending) in enumerate(sort.columns):
        equal_prefix = [c == v for c, v in zip(columns[:i], values[:i], strict=True)]
        beyond = column < values[i] if descending else column > values[i]
        clauses.append(and_(*equal_prefix, beyond))
    return or_(false(), *clauses)


# Built once per listed statement, sort and cursor presence: building and cache-keying a
# statement cost as much as running it. Bounded, above the shapes the schema can ask for
# (288 product lists, a few others), for callers whose statements vary.
@lru_cache(maxsize=1024)
def _page_statement(statement: Select[Any], sort: SortKey, after: bool) -> Select[Any]:
    if after:
        statement = statement.where(_after(sort))
    return statement.order_by(*sort.order_by()).limit(bindparam(PAGE_LIMIT, type_=Integer))


@lru_cache(maxsize=1024)
def _count_statement(statement: Select[Any]) -> Select[int]:
    return select(func.count()).select_from(statement.order_by(None).subquery())


@dataclass(frozen=True)
class PageQuery:
    """The statement of one keyset page with its parameters (one row more than the page
    asks for: it tells whether another page follows)."""

    statement: Select[Any]
    params: dict[str, Any]
    sort: SortKey
    limit: int
    after: bool
    # The listed statement and its filter's values, which the page's count runs with.
    listed: Select[Any]
    list_params: dict[str, Any]

    def page(self, rows: list[Any]) -> Page[Any]:
        """The page of the rows this query read."""
        return Page(
            items=rows[: self.limit],
            sort=self.sort,
            has_next_page=len(rows) > self.limit,
            has_previous_page=self.after,
            count_statement=_count_statement(self.listed),
            params=self.list_params,
        )


def page_query(
    statement: Select[Any],
    sort: SortKey,
    *,
    first: int | None,
    after: str | None,
    params: Mapping[str, Any] | None = None,
) -> PageQuery:
    """The page of `statement` (filtered, a fixed statement whose values come as `params`)
    in `sort` order after the `after` cursor; bad `first` or `after` is bad input."""
    limit = page_size(first)
    list_params = dict(params or {})
    page_params = list_params | {PAGE_LIMIT: limit + 1}
    if after is not None:
        for i, value in enumerate(decode_cursor(sort, after)):
            page_params[f"after_{i}"] = value
    return PageQuery(
        statement=_page_statement(statement, sort, after is not None),
        params=page_params,
        sort=sort,
        limit=limit,
        after=after is not None,
        listed=statement,
        list_params=list_params,
    )


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    sort: SortKey,
    *,
    first: int | None,
    after: str | None,
    params: Mapping[str, Any] | None = None,
    rows_as: Callable[[Iterable[Any]], Any] | None = None,
) -> Page[Any]:
    """One page of `statement` (as page_query), as its entities, or with `rows_as` (a
    NamedTuple's `_make`) its rows as those, read as plain rows (no ORM result processing,
    attributes as fast as a tuple's)."""
    query = page_query(statement, sort, first=first, after=after, params=params)
    if rows_as is not None:
        read = await read_rows(session, query.statement, query.params)
        rows: list[Any] = [rows_as(row) for row in read]
    else:
        rows = list((await session.execute(query.statement, query.params)).scalars().all())
    return query.page(rows)
