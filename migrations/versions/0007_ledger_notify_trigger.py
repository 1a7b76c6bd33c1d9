"""stock ledger inserts announce themselves: NOTIFY from a trigger, delivered at commit

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# gql.inventory.events.CHANNEL, as it was when this revision was written.
CHANNEL = "gql_stock"


def upgrade() -> None:
    # SQLite has no NOTIFY: its only process learns of new rows after its own commits.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION announce_stock_movement() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
    )
    # One notification per statement (and PostgreSQL folds repeats within a transaction).
    op.execute(
        "CREATE TRIGGER stock_movement_announces AFTER INSERT ON stock_movement "
        "FOR EACH STATEMENT EXECUTE FUNCTION announce_stock_movement()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER stock_movement_announces ON stock_movement")
    op.execute("DROP FUNCTION announce_stock_movement()")
