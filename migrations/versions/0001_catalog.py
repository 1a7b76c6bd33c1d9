"""catalog: products and product images

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_product_price_not_negative")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_product_stock_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("sku", name=op.f("uq_product_sku")),
    )
    op.create_index("ix_product_created_at_id", "product", ["created_at", "id"])
    op.create_index("ix_product_name_id", "product", ["name", "id"])
    op.create_index("ix_product_price_id", "product", ["price", "id"])

    op.create_table(
        "product_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("alt_text", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_product_image_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_image")),
    )
    op.create_index(
        "ix_product_image_product_id_position", "product_image", ["product_id", "position"]
    )


def downgrade() -> None:
    op.drop_index("ix_product_image_product_id_position", table_name="product_image")
    op.drop_table("product_image")
    op.drop_index("ix_product_price_id", table_name="product")
    op.drop_index("ix_product_name_id", table_name="product")
    op.drop_index("ix_product_created_at_id", table_name="product")
    op.drop_table("product")
