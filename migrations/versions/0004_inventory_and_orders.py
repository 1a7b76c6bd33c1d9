"""inventory and orders

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('PLACED', 'CANCELLED')", name=op.f("ck_customer_order_status_known")
        ),
        sa.CheckConstraint("total >= 0", name=op.f("ck_customer_order_total_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["app_user.id"],
            name=op.f("fk_customer_order_customer_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_order")),
        sa.UniqueConstraint(
            "customer_id",
            "idempotency_key",
            name=op.f("uq_customer_order_customer_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_order_customer_id_id", ["customer_id", "id"], unique=False
        )

    op.create_table(
        "order_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_line_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_line_unit_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["customer_order.id"],
            name=op.f("fk_order_line_order_id_customer_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_order_line_product_id_product"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line")),
    )
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.create_index("ix_order_line_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_order_line_product_id", ["product_id"], unique=False)

    op.create_table(
        "stock_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("quantity_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reason IN ('RESTOCK', 'ADJUSTMENT', 'ORDER', 'CANCELLATION')",
            name=op.f("ck_stock_movement_reason_known"),
        ),
        sa.CheckConstraint("delta <> 0", name=op.f("ck_stock_movement_delta_not_zero")),
        sa.CheckConstraint(
            "quantity_after >= 0", name=op.f("ck_stock_movement_quantity_after_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["app_user.id"],
            name=op.f("fk_stock_movement_actor_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["customer_order.id"],
            name=op.f("fk_stock_movement_order_id_customer_order"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_stock_movement_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movement")),
    )
    with op.batch_alter_table("stock_movement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_movement_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_stock_movement_product_id_id", ["product_id", "id"], unique=False)

    # Stock that existed before the ledger becomes its opening RESTOCK movement, so that
    # every product's stock equals the sum of its ledger from here on.
    op.execute(
        "INSERT INTO stock_movement (product_id, delta, quantity_after, reason, created_at) "
        "SELECT id, stock, stock, 'RESTOCK', CURRENT_TIMESTAMP FROM product WHERE stock > 0 "
        "ORDER BY id"
    )


def downgrade() -> None:
    with op.batch_alter_table("stock_movement", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_movement_product_id_id")
        batch_op.drop_index(batch_op.f("ix_stock_movement_order_id"))

    op.drop_table("stock_movement")
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_index("ix_order_line_product_id")
        batch_op.drop_index("ix_order_line_order_id")

    op.drop_table("order_line")
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_order_customer_id_id")

    op.drop_table("customer_order")
