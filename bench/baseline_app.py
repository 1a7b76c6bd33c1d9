"""The "before": a straightforward Strawberry + SQLAlchemy ORM + aiodataloader server."""

import os
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from functools import partial

import strawberry
from aiodataloader import DataLoader
from fastapi import FastAPI
from sqlalchemy import ForeignKey, Numeric, String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from strawberry.fastapi import BaseContext, GraphQLRouter


class Base(DeclarativeBase):
    """Declarative base of the baseline's models."""


class ProductModel(Base):
    """A product row."""

    __tablename__ = "product"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str]
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    stock: Mapped[int]


class ProductImageModel(Base):
    """A product image row."""

    __tablename__ = "product_image"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    url: Mapped[str] = mapped_column(String(2048))
    alt_text: Mapped[str] = mapped_column(String(300))
    position: Mapped[int]


engine = create_async_engine(os.environ.get("BASELINE_DATABASE_URL", "sqlite+aiosqlite://"))
Session = async_sessionmaker(engine, expire_on_commit=False)


async def load_images(
    session: AsyncSession, product_ids: list[int]
) -> list[list[ProductImageModel]]:
    """All images of a batch of products in one query, on the request's session."""
    rows = await session.scalars(
        select(ProductImageModel)
        .where(ProductImageModel.product_id.in_(product_ids))
        .order_by(ProductImageModel.product_id, ProductImageModel.position)
    )
    grouped: dict[int, list[ProductImageModel]] = defaultdict(list)
    for image in rows:
        grouped[image.product_id].append(image)
    return [grouped[product_id] for product_id in product_ids]


class Context(BaseContext):
    """A session and the DataLoaders of one request."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self.session = session
        self.images = DataLoader(partial(load_images, session))


@strawberry.type
class ProductImage:
    id: strawberry.ID
    url: str
    alt_text: str
    position: int


@strawberry.type
class Product:
    id: strawberry.ID
    sku: str
    name: str
    description: str
    price: Decimal
    stock: int

    @strawberry.field
    async def images(self, info: strawberry.Info[Context, None]) -> list[ProductImage]:
        """Batched by the request's DataLoader."""
        rows = await info.context.images.load(int(self.id))
        return [
            ProductImage(
                id=strawberry.ID(str(r.id)), url=r.url, alt_text=r.alt_text, position=r.position
            )
            for r in rows
        ]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo


@strawberry.type
class Query:
    @strawberry.field
    async def products(
        self, info: strawberry.Info[Context, None], first: int = 20, after: str | None = None
    ) -> ProductConnection:
        """Products by id, a page at a time (the cursor is the last id)."""
        statement = select(ProductModel).order_by(ProductModel.id).limit(first + 1)
        if after is not None:
            statement = statement.where(ProductModel.id > int(after))
        rows = list(await info.context.session.scalars(statement))
        edges = [
            ProductEdge(
                cursor=str(row.id),
                node=Product(
                    id=strawberry.ID(str(row.id)),
                    sku=row.sku,
                    name=row.name,
                    description=row.description,
                    price=row.price,
                    stock=row.stock,
                ),
            )
            for row in rows[:first]
        ]
        return ProductConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
            ),
        )


async def get_context() -> AsyncIterator[Context]:
    """A fresh session per request, closed afterwards."""
    async with Session() as session:
        yield Context(session)


schema = strawberry.Schema(query=Query)
app = FastAPI()
app.include_router(GraphQLRouter(schema, context_getter=get_context), prefix="/graphql")
