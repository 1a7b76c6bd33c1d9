"""Order tables: orders and their lines."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gql.core.db import Base, utcnow


class OrderStatus(StrEnum):
    """Where an order stands."""

    PLACED = "PLACED"
    CANCELLED = "CANCELLED"


class Order(Base):
    """A customer's purchase; the same idempotency key never makes a second one."""

    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        CheckConstraint("status IN ('PLACED', 'CANCELLED')", name="status_known"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        Index("ix_customer_order_customer_id_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PLACED.value)
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)


class OrderLine(Base):
    """A product on an order, with the unit price it was sold at."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        Index("ix_order_line_order_id", "order_id"),
        Index("ix_order_line_product_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="RESTRICT"))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class OrderRefusal(Base):
    """A placeOrder refused for want of stock: counted against the customer's budget, so
    probing stock levels with refused orders is slow and visible."""

    __tablename__ = "order_refusal"
    __table_args__ = (
        Index("ix_order_refusal_customer_id_created_at", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
