"""Catalog reads: product pages with filters and keyset order, products and images by id."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gql.catalog.models import Product, ProductImage
from gql.catalog.validation import MAX_PRICE, MAX_SEARCH
from gql.core.db import among, list_parameter
from gql.core.driver import read_rows
from gql.core.errors import BadUserInput
from gql.core.text import has_control_characters
from gql.graphql.pagination import Page, PageQuery, SortKey, page_query


class ProductOrder(StrEnum):
    """The orders in which products can be listed."""

    ID_ASC = "ID_ASC"
    ID_DESC = "ID_DESC"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    NAME_ASC = "NAME_ASC"
    CREATED_AT_DESC = "CREATED_AT_DESC"


PRODUCT_SORTS: dict[ProductOrder, SortKey] = {
    ProductOrder.ID_ASC: SortKey("ID_ASC", ((Product.id, False),)),
    ProductOrder.ID_DESC: SortKey("ID_DESC", ((Product.id, True),)),
    ProductOrder.PRICE_ASC: SortKey("PRICE_ASC", ((Product.price, False), (Product.id, False))),
    ProductOrder.PRICE_DESC: SortKey("PRICE_DESC", ((Product.price, True), (Product.id, True))),
    ProductOrder.NAME_ASC: SortKey("NAME_ASC", ((Product.name, False), (Product.id, False))),
    ProductOrder.CREATED_AT_DESC: SortKey(
        "CREATED_AT_DESC", ((Product.created_at, True), (Product.id, True))
    ),
}


@dataclass(frozen=True)
class ProductFilter:
    """Optional conditions on a product list."""

    search: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None


async def get_product(session: AsyncSession, product_id: int) -> Product | None:
    """The product with this id, if any."""
    return await session.get(Product, product_id)


def _filter_params(product_filter: ProductFilter) -> dict[str, Any]:
    """The filter's values as the bound parameters of its statement; bad ones refused."""
    params: dict[str, Any] = {}
    if product_filter.search is not None:
        term = product_filter.search.strip()
        if len(term) > MAX_SEARCH:
            raise BadUserInput(
                f"`search` is longer than {MAX_SEARCH} characters.", field="filter.search"
            )
        if has_control_characters(term):
            raise BadUserInput(
                "`search` must not contain control characters.", field="filter.search"
            )
        if term:
            params["search"] = "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"
    for bound, field, name in (
        (product_filter.min_price, "minPrice", "min_price"),
        (product_filter.max_price, "maxPrice", "max_price"),
    ):
        if bound is not None and (not bound.is_finite() or not 0 <= bound <= MAX_PRICE):
            raise BadUserInput(
                f"`{field}` must be a number from 0 to {MAX_PRICE}.", field=f"filter.{field}"
            )
        if bound is not None:
            params[name] = bound
    return params


# Search terms at least this long are looked up in the trigram indexes (PostgreSQL, when
# migration 0013 made them): a shorter one has no trigram to look up.
INDEXED_SEARCH = 3


def _matching(product: Any, pattern: Any) -> ColumnElement[bool]:
    return or_(product.name.ilike(pattern, escape="\\"), product.sku.ilike(pattern, escape="\\"))


@lru_cache(maxsize=64)
def _filtered(
    filtered_by: frozenset[str], in_stock: bool | None, indexed_search: bool = False
) -> Select[Product]:
    """The product list restricted by the named bound parameters (and stock), built once
    per combination."""
    statement = select(Product)
    if "search" in filtered_by:
        pattern = bindparam("search", type_=String)
        if indexed_search:
            # The matching ids first, as one array: with the page's ORDER BY ... LIMIT, a
            # generic plan would rather walk an order's index and test every row.
            found = aliased(Product)
            ids = select(func.array_agg(found.id)).where(_matching(found, pattern))
            # Cast: ANY of a bare subquery would compare with each of its rows (arrays).
            matched = cast(ids.scalar_subquery(), ARRAY(Integer))
            statement = statement.where(Product.id == any_(matched))
        else:
            statement = statement.where(_matching(Product, pattern))
    if "min_price" in filtered_by:
        statement = statement.where(Product.price >= bindparam("min_price"))
    if "max_price" in filtered_by:
        statement = statement.where(Product.price <= bindparam("max_price"))
    if in_stock is True:
        statement = statement.where(Product.stock > 0)
    elif in_stock is False:
        statement = statement.where(Product.stock == 0)
    return statement.with_only_columns(*PRODUCT_COLUMNS)


class ImageRow(NamedTuple):
    """An image as read for display (a tuple: cheap to build and to read)."""

    id: int
    product_id: int
    url: str
    alt_text: str
    position: int
    media_key: str | None
    width: int | None
    height: int | None


class ProductRow(NamedTuple):
    """A product as read for a list page."""

    id: int
    sku: str
    name: str
    description: str
    price: Decimal
    stock: int
    created_at: datetime
    updated_at: datetime
    version: int


IMAGE_COLUMNS = [getattr(ProductImage, name) for name in ImageRow._fields]
_IMAGES_IN_ORDER = (ProductImage.product_id, ProductImage.position, ProductImage.id)
PRODUCT_COLUMNS = [getattr(Product, name) for name in ProductRow._fields]
# One product's row (bound parameter: id).
PRODUCT_BY_ID = select(*PRODUCT_COLUMNS).where(Product.id == bindparam("id", type_=Integer))


def product_page_query(
    *,
    first: int | None,
    after: str | None,
    product_filter: ProductFilter,
    order: ProductOrder,
    dialect: str,
) -> PageQuery:
    """The statement of one keyset page of products matching the filter; bad input refused."""
    params = _filter_params(product_filter)
    indexed_search = (
        dialect == "postgresql"
        and "search" in params
        and len((product_filter.search or "").strip()) >= INDEXED_SEARCH
    )
    statement = _filtered(frozenset(params), product_filter.in_stock, indexed_search)
    return page_query(statement, PRODUCT_SORTS[order], first=first, after=after, params=params)


async def list_products(
    session: AsyncSession,
    *,
    first: int | None,
    after: str | None,
    product_filter: ProductFilter,
    order: ProductOrder,
) -> Page[ProductRow]:
    """One keyset page of products matching the filter, as rows (no ORM identity map:
    a read needs none)."""
    dialect = (await session.connection()).dialect.name
    query = product_page_query(
        first=first, after=after, product_filter=product_filter, order=order, dialect=dialect
    )
    rows = await read_rows(session, query.statement, query.params)
    return query.page([ProductRow._make(row) for row in rows])


async def products_by_ids(session: AsyncSession, product_ids: list[int]) -> dict[int, Product]:
    """Products by id, in one statement."""
    rows = await session.scalars(select(Product).where(Product.id.in_(product_ids)))
    return {product.id: product for product in rows}


async def images_by_ids(session: AsyncSession, image_ids: list[int]) -> dict[int, ImageRow]:
    """Images by id, in one statement."""
    rows = await session.execute(select(*IMAGE_COLUMNS).where(ProductImage.id.in_(image_ids)))
    return {row.id: ImageRow._make(row) for row in rows}


@cache
def _images_of(dialect: str) -> Executable:
    # The ids as one list parameter: the same statement for any number of products (an IN
    # list is rendered anew for every request).
    return (
        select(*IMAGE_COLUMNS)
        .where(among(ProductImage.product_id, "product_ids", Integer, dialect))
        .order_by(*_IMAGES_IN_ORDER)
    )


def images_statement(dialect: str, product_ids: list[int]) -> tuple[Executable, dict[str, Any]]:
    """The statement reading the images of these products in position order, with its
    parameters."""
    return _images_of(dialect), {"product_ids": list_parameter(dialect, product_ids)}


def group_images(
    product_ids: Iterable[int], rows: Iterable[Sequence[Any]]
) -> dict[int, list[ImageRow]]:
    """Image rows by product, each product's in the order read (none: an empty list)."""
    grouped: dict[int, list[ImageRow]] = {product_id: [] for product_id in product_ids}
    for row in rows:
        image = ImageRow._make(row)
        grouped[image.product_id].append(image)
    return grouped


async def images_of_products(
    session: AsyncSession, product_ids: Iterable[int]
) -> dict[int, list[ImageRow]]:
    """The images of each product, in position order, in one statement."""
    wanted = list(dict.fromkeys(product_ids))
    if not wanted:
        return {}
    connection = await session.connection()
    statement, params = images_statement(connection.dialect.name, wanted)
    return group_images(wanted, await read_rows(session, statement, params))
