"""Arrange helpers: rows created through the services, committed."""

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog import service
from gql.catalog.models import Product


async def make_product(
    session: AsyncSession,
    sku: str,
    *,
    name: str | None = None,
    price: str = "10.00",
    stock: int = 5,
    images: int = 0,
) -> Product:
    """A committed product with `images` images."""
    product = await service.create_product(
        session, sku=sku, name=name or f"Product {sku}", price=Decimal(price), stock=stock
    )
    for n in range(images):
        await service.add_product_image(
            session, product.id, url=f"https://img.test/{sku}/{n}.jpg", alt_text=f"{sku} {n}"
        )
    await session.commit()
    return product
