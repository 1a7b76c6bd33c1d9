"""Catalog writes: products and their images; they validate, write through the session
and only flush."""

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.errors import DuplicateSku, ProductInUse
from gql.catalog.models import Product, ProductImage
from gql.catalog.validation import (
    MAX_ALT_TEXT,
    MAX_DESCRIPTION,
    MAX_IMAGES,
    MAX_NAME,
    clean_price,
    clean_sku,
    clean_stock,
    clean_text,
    clean_url,
)
from gql.core.errors import EntityNotFound, InvalidInput
from gql.inventory import service as inventory
from gql.media import service as media
from gql.media.images import Picture
from gql.media.renditions import media_url
from gql.media.storage import MediaStorage


async def _require_product(
    session: AsyncSession, product_id: int, *, lock: bool, field: str = "id"
) -> Product:
    statement = select(Product).where(Product.id == product_id)
    if lock:
        statement = statement.with_for_update()
    product = (await session.scalars(statement)).one_or_none()
    if product is None:
        raise EntityNotFound("The product does not exist.", field=field)
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


async def delete_product(session: AsyncSession, product_id: int) -> list[str]:
    """Remove a product and, by cascade, its images; returns the media keys they used (to
    release once this commits: gql.media.service.release)."""
    product = await _require_product(session, product_id, lock=True)
    media_keys = await _media_keys(session, ProductImage.product_id == product_id)
    try:
        async with session.begin_nested():
            await session.execute(delete(Product).where(Product.id == product.id))
    except IntegrityError:
        raise ProductInUse("The product is on orders and cannot be deleted.", field="id") from None
    session.expunge(product)
    return media_keys


async def _media_keys(session: AsyncSession, where: ColumnElement[bool]) -> list[str]:
    keys = await session.scalars(select(ProductImage.media_key).where(where))
    return [key for key in keys if key is not None]


async def add_product_image(
    session: AsyncSession,
    product_id: int,
    *,
    url: str,
    alt_text: str = "",
    position: int | None = None,
) -> ProductImage:
    """Add an image by URL at `position` (default: last), shifting the later images along."""
    clean = clean_url(url)
    return await _insert_image(session, product_id, alt_text, position, url=clean)


async def add_uploaded_image(
    session: AsyncSession,
    storage: MediaStorage,
    product_id: int,
    picture: Picture,
    *,
    alt_text: str = "",
    position: int | None = None,
) -> ProductImage:
    """Add an uploaded image, as add_product_image; its file is stored in this transaction."""
    image = await _insert_image(
        session,
        product_id,
        alt_text,
        position,
        url=media_url(picture.key),
        media_key=picture.key,
        width=picture.width,
        height=picture.height,
    )
    await media.store_picture(session, storage, picture)
    return image


async def _insert_image(
    session: AsyncSession,
    product_id: int,
    alt_text: str,
    position: int | None,
    **columns: Any,
) -> ProductImage:
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
    image = ProductImage(product_id=product_id, alt_text=alt, position=target, **columns)
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


async def remove_product_image(session: AsyncSession, image_id: int) -> tuple[int, list[str]]:
    """Remove an image and close the gap in its product's order; returns the product id and
    the media key it used (to release once this commits)."""
    found = (
        await session.execute(
            select(ProductImage.product_id, ProductImage.media_key).where(
                ProductImage.id == image_id
            )
        )
    ).one_or_none()
    if found is None:
        raise EntityNotFound("The image does not exist.", field="id")
    product_id, media_key = found
    await _require_product(session, product_id, lock=True)
    await session.execute(delete(ProductImage).where(ProductImage.id == image_id))
    await _renumber(session, await _image_ids(session, product_id))
    return product_id, [media_key] if media_key is not None else []


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
