"""The stock ledger: one row per change of a product's stock, never updated."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, FetchedValue, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gql.core.db import Base, utcnow


class MovementReason(StrEnum):
    """Why the stock changed."""

    RESTOCK = "RESTOCK"
    ADJUSTMENT = "ADJUSTMENT"
    ORDER = "ORDER"
    CANCELLATION = "CANCELLATION"


class StockMovement(Base):
    """A committed change of stock; delivered in (epoch, id) order (gql.inventory.ledger)."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint("quantity_after >= 0", name="quantity_after_not_negative"),
        CheckConstraint(
            "reason IN ('RESTOCK', 'ADJUSTMENT', 'ORDER', 'CANCELLATION')", name="reason_known"
        ),
        Index("ix_stock_movement_product_id_id", "product_id", "id"),
        Index("ix_stock_movement_epoch_id", "epoch", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    delta: Mapped[int]
    quantity_after: Mapped[int]
    reason: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_order.id", ondelete="SET NULL"), default=None, index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Its product's ledger epoch after the change (gql.inventory.ledger); by default the
    # writing transaction's id on PostgreSQL, 0 on SQLite.
    epoch: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())
