"""Catalog use cases: they validate, read and write through the session, and only flush."""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import (
    Integer,
    Select,
    String,
    any_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.errors import DuplicateSku, ProductInUse
from gql.catalog.models import Product, ProductImage
from gql.core.driver import read_rows
from gql.core.errors import BadUserInput, EntityNotFound, InvalidInput
from gql.core.text import has_control_characters
from gql.graphql.pagination import Page, SortKey, paginate
from gql.inventory import service as inventory

SKU_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_PRICE = Decimal("9999999999.99")
MAX_STOCK = 2_000_000_000
MAX_NAME = 200
MAX_DESCRIPTION = 5000
MAX_URL = 2048
MAX_ALT_TEXT = 300
MAX_SEARCH = 200
MAX_IMAGES = 50


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


# --- validation -------------------------------------------------------------------------


def clean_text(
    value: str, field: str, *, max_length: int, required: bool = True, multiline: bool = False
) -> str:
    """Trimmed text within its length limits, free of control characters (but line breaks
    and tabs when `multiline`)."""
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(f"`{field}` must not be empty.", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput(f"`{field}` is longer than {max_length} characters.", field=field)
    if has_control_characters(cleaned, multiline=multiline):
        raise InvalidInput(f"`{field}` must not contain control characters.", field=field)
    return cleaned


def clean_sku(value: str) -> str:
    """A SKU: 1-64 letters, digits, dots, dashes or underscores, starting alphanumeric."""
    sku = value.strip()
    if not SKU_PATTERN.fullmatch(sku):
        raise InvalidInput(
            "`sku` must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
            field="sku",
        )
    return sku


def clean_price(value: Decimal, field: str = "price") -> Decimal:
    """A price: finite, not negative, at most two decimals and 10 integer digits."""
    try:
        if not value.is_finite():
            raise InvalidInput(f"`{field}` must be a number.", field=field)
        if value < 0:
            raise InvalidInput(f"`{field}` must not be negative.", field=field)
        if value > MAX_PRICE:
            raise InvalidInput(f"`{field}` must be at most {MAX_PRICE}.", field=field)
        if value != value.quantize(Decimal("0.01")):
            raise InvalidInput(f"`{field}` has more than two decimal places.", field=field)
        return value.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InvalidInput(f"`{field}` must be a number.", field=field) from None


def clean_stock(value: int) -> int:
    """An initial stock level."""
    if not 0 <= value <= MAX_STOCK:
        raise InvalidInput(f"`stock` must be between 0 and {MAX_STOCK}.", field="stock")
    return value


def clean_url(value: str) -> str:
    """An absolute http(s) URL."""
    url = value.strip()
    if len(url) > MAX_URL:
        raise InvalidInput(f"`url` is longer than {MAX_URL} characters.", field="url")
    if has_control_characters(url):
        raise InvalidInput("`url` must not contain control characters.", field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidInput("`url` must be an absolute http or https URL.", field="url")
    return url


# --- reads ------------------------------------------------------------------------------


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


@lru_cache(maxsize=64)
def _filtered(filtered_by: frozenset[str], in_stock: bool | None) -> Select[Product]:
    """The product list restricted by the named bound parameters (and stock), built once
    per combination."""
    statement = select(Product)
    if "search" in filtered_by:
        pattern = bindparam("search", type_=String)
        statement = statement.where(
            or_(Product.name.ilike(pattern, escape="\\"), Product.sku.ilike(pattern, escape="\\"))
        )
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
# PostgreSQL takes the ids as one array: the same statement for any number of products
# (an IN list is rendered anew for every request).
_IMAGES_OF_ARRAY = (
    select(*IMAGE_COLUMNS)
    .where(ProductImage.product_id == any_(bindparam("product_ids", type_=ARRAY(Integer))))
    .order_by(*_IMAGES_IN_ORDER)
)
PRODUCT_COLUMNS = [getattr(Product, name) for name in ProductRow._fields]


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
    params = _filter_params(product_filter)
    statement = _filtered(frozenset(params), product_filter.in_stock)
    return await paginate(
        session,
        statement,
        PRODUCT_SORTS[order],
        first=first,
        after=after,
        params=params,
        rows_as=ProductRow._make,
    )


async def products_by_ids(session: AsyncSession, product_ids: list[int]) -> dict[int, Product]:
    """Products by id, in one statement."""
    rows = await session.scalars(select(Product).where(Product.id.in_(product_ids)))
    return {product.id: product for product in rows}


async def images_of_products(
    session: AsyncSession, product_ids: Iterable[int]
) -> dict[int, list[ImageRow]]:
    """The images of each product, in position order, in one statement."""
    grouped: dict[int, list[ImageRow]] = {product_id: [] for product_id in product_ids}
    if not grouped:
        return grouped
    connection = await session.connection()
    rows: Iterable[Sequence[Any]]
    if connection.dialect.name == "postgresql":
        rows = await read_rows(session, _IMAGES_OF_ARRAY, {"product_ids": list(grouped)})
    else:
        rows = await connection.execute(
            select(*IMAGE_COLUMNS)
            .where(ProductImage.product_id.in_(grouped))
            .order_by(*_IMAGES_IN_ORDER)
        )
    for row in rows:
        image = ImageRow._make(row)
        grouped[image.product_id].append(image)
    return grouped


# --- writes -----------------------------------------------------------------------------


async def _require_product(
    session: AsyncSession, product_id: int, *, lock: bool, field: str = "id"
) -> Product:
    statement = select(Product).where(Product.id == product_id)
    if lock:
        statement = statement.with_for_update()
    product = (await session.scalars(statement)).one_or_none()
    if product is None:
        raise EntityNotFound(f"Product {product_id} does not exist.", field=field)
    return product


async def _flush_unique_sku(
    session: AsyncSession, sku: str, new_product: Product | None = None
) -> None:
    """Flush inside a savepoint so a concurrent duplicate SKU becomes a DuplicateSku."""
    try:
        async with session.begin_nested():
            # Added inside the savepoint: begin_nested() flushes what is pending before it.
            if new_product is not None:
                session.add(new_product)
            await session.flush()
    except IntegrityError:
        raise DuplicateSku(f"A product with SKU {sku!r} already exists.", field="sku") from None


async def _sku_taken(session: AsyncSession, sku: str) -> bool:
    return (await session.scalar(select(Product.id).where(Product.sku == sku))) is not None


async def create_product(
    session: AsyncSession,
    *,
    sku: str,
    name: str,
    price: Decimal,
    description: str = "",
    stock: int = 0,
    actor_id: int | None = None,
) -> Product:
    """A new product; its SKU must be unused; opening stock goes to the ledger."""
    product = Product(
        sku=clean_sku(sku),
        name=clean_text(name, "name", max_length=MAX_NAME),
        description=clean_text(
            description, "description", max_length=MAX_DESCRIPTION, required=False, multiline=True
        ),
        price=clean_price(price),
        stock=clean_stock(stock),
    )
    if await _sku_taken(session, product.sku):
        raise DuplicateSku(f"A product with SKU {product.sku!r} already exists.", field="sku")
    await _flush_unique_sku(session, product.sku, product)
    await inventory.record_initial_stock(session, product, actor_id=actor_id)
    return product


async def update_product(
    session: AsyncSession, product_id: int, changes: Mapping[str, Any]
) -> Product:
    """Change the given fields of a product; fields not in `changes` stay as they are."""
    cleaners: dict[str, Callable[[Any], Any]] = {
        "sku": clean_sku,
        "name": lambda v: clean_text(v, "name", max_length=MAX_NAME),
        "description": lambda v: clean_text(
            v, "description", max_length=MAX_DESCRIPTION, required=False, multiline=True
        ),
        "price": clean_price,
    }
    unknown = set(changes) - set(cleaners)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    for field, value in changes.items():
        if value is None:
            raise InvalidInput(f"`{field}` cannot be null.", field=field)
    cleaned = {field: cleaners[field](value) for field, value in changes.items()}
    product = await _require_product(session, product_id, lock=True)
    new_sku = cleaned.get("sku")
    if new_sku is not None and new_sku != product.sku and await _sku_taken(session, new_sku):
        raise DuplicateSku(f"A product with SKU {new_sku!r} already exists.", field="sku")
    for field, value in cleaned.items():
        setattr(product, field, value)
    await _flush_unique_sku(session, product.sku)
    return product


async def delete_product(session: AsyncSession, product_id: int) -> None:
    """Remove a product and, by cascade, its images."""
    product = await _require_product(session, product_id, lock=True)
    try:
        async with session.begin_nested():
            await session.execute(delete(Product).where(Product.id == product.id))
    except IntegrityError:
        raise ProductInUse(
            f"Product {product_id} is on orders and cannot be deleted.", field="id"
        ) from None
    session.expunge(product)


async def add_product_image(
    session: AsyncSession,
    product_id: int,
    *,
    url: str,
    alt_text: str = "",
    position: int | None = None,
) -> ProductImage:
    """Add an image at `position` (default: last), shifting the later images along."""
    clean = clean_url(url)
    alt = clean_text(alt_text, "altText", max_length=MAX_ALT_TEXT, required=False)
    if position is not None and position < 0:
        raise InvalidInput("`position` must not be negative.", field="position")
    # The product row lock serialises concurrent edits of the same image list.
    await _require_product(session, product_id, lock=True, field="productId")
    count = (
        await session.scalar(select(func.count()).where(ProductImage.product_id == product_id)) or 0
    )
    if count >= MAX_IMAGES:
        raise InvalidInput(f"A product has at most {MAX_IMAGES} images.", field="productId")
    target = count if position is None else min(position, count)
    await session.execute(
        update(ProductImage)
        .where(ProductImage.product_id == product_id, ProductImage.position >= target)
        .values(position=ProductImage.position + 1)
    )
    image = ProductImage(product_id=product_id, url=clean, alt_text=alt, position=target)
    session.add(image)
    await session.flush()
    return image


async def _renumber(session: AsyncSession, ordered_ids: list[int]) -> None:
    for position, image_id in enumerate(ordered_ids):
        await session.execute(
            update(ProductImage).where(ProductImage.id == image_id).values(position=position)
        )


async def _image_ids(session: AsyncSession, product_id: int) -> list[int]:
    rows = await session.scalars(
        select(ProductImage.id)
        .where(ProductImage.product_id == product_id)
        .order_by(ProductImage.position, ProductImage.id)
    )
    return list(rows)


async def remove_product_image(session: AsyncSession, image_id: int) -> int:
    """Remove an image and close the gap in its product's order; returns the product id."""
    product_id = await session.scalar(
        select(ProductImage.product_id).where(ProductImage.id == image_id)
    )
    if product_id is None:
        raise EntityNotFound(f"Image {image_id} does not exist.", field="id")
    await _require_product(session, product_id, lock=True)
    await session.execute(delete(ProductImage).where(ProductImage.id == image_id))
    await _renumber(session, await _image_ids(session, product_id))
    return product_id


async def reorder_product_images(
    session: AsyncSession, product_id: int, image_ids: list[int]
) -> None:
    """Put a product's images in the given order; the ids must be exactly its images."""
    await _require_product(session, product_id, lock=True, field="productId")
    current = await _image_ids(session, product_id)
    if len(image_ids) != len(set(image_ids)) or set(image_ids) != set(current):
        raise InvalidInput(
            "`imageIds` must list each image of the product exactly once.", field="imageIds"
        )
    await _renumber(session, image_ids)
