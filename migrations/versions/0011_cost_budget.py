"""cost budgets shared by every process

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cost_bucket",
        sa.Column("caller", sa.String(length=80), nullable=False),
        sa.Column("spent", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("caller", name=op.f("pk_cost_bucket")),
    )


def downgrade() -> None:
    op.drop_table("cost_bucket")
