"""refused orders, counted against each customer's budget

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_refusal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["app_user.id"],
            name=op.f("fk_order_refusal_customer_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_refusal")),
    )
    op.create_index(
        "ix_order_refusal_customer_id_created_at",
        "order_refusal",
        ["customer_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_order_refusal_customer_id_created_at", table_name="order_refusal")
    op.drop_table("order_refusal")
