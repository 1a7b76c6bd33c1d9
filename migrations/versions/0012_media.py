"""uploaded product images: the media registry, database storage, image sizes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_file",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_media_file")),
    )
    op.create_table(
        "media_blob",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_media_blob")),
    )
    # Plain ADD/DROP COLUMN (SQLite has both): a batch copy would drop the table's triggers.
    op.add_column("product_image", sa.Column("media_key", sa.String(length=100), nullable=True))
    op.add_column("product_image", sa.Column("width", sa.Integer(), nullable=True))
    op.add_column("product_image", sa.Column("height", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_product_image_media_key"), "product_image", ["media_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_product_image_media_key"), table_name="product_image")
    for column in ("height", "width", "media_key"):
        op.drop_column("product_image", column)
    op.drop_table("media_blob")
    op.drop_table("media_file")
