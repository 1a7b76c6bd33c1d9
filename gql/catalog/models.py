"""Catalog tables: products and product images."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gql.core.db import Base, utcnow

# PostgreSQL only (migration 0013, when pg_trgm can be created): trigram indexes that serve
# the `search` filter's case-insensitive substring match (ILIKE '%term%') on each column.
# Not in the models' metadata: SQLite has no such index.
SEARCH_INDEXES = {"ix_product_name_trgm": "name", "ix_product_sku_trgm": "sku"}


class Product(Base):
    """A thing for sale, with its price and the units in stock."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        # Keyset pagination orders: each ends in the primary key.
        Index("ix_product_price_id", "price", "id"),
        Index("ix_product_name_id", "name", "id"),
        Index("ix_product_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    stock: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Raised by every stock change (gql.inventory.locks): cached answers that show the
    # product compare it (gql.cache.versions).
    version: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    # The epoch of its latest ledger row (gql.inventory.ledger); by default the creating
    # transaction's id on PostgreSQL, 0 on SQLite.
    ledger_epoch: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())

    images: Mapped[list["ProductImage"]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ProductImage.position",
        lazy="raise",
    )


class ProductImage(Base):
    """An image of a product, shown in `position` order."""

    __tablename__ = "product_image"
    __table_args__ = (Index("ix_product_image_product_id_position", "product_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    alt_text: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(default=0)
    # Uploaded images: the stored file (gql.media), whose path `url` holds, and its pixels.
    media_key: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)

    product: Mapped[Product] = relationship(back_populates="images", lazy="raise")
