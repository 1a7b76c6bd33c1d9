"""name and SKU searches served by trigram indexes (PostgreSQL)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from gql.catalog.models import SEARCH_INDEXES

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it. Where
    # it cannot be, searches stay sequential scans and nothing else changes.
    savepoint = connection.begin_nested()
    try:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except Exception:
        savepoint.rollback()
        logger.warning("pg_trgm is not available: product searches scan the table")
        return
    savepoint.commit()
    for name, column in SEARCH_INDEXES.items():
        connection.execute(
            text(f"CREATE INDEX IF NOT EXISTS {name} ON product USING gin ({column} gin_trgm_ops)")
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in SEARCH_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
