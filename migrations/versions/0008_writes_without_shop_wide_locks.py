"""stock writes without shop-wide locks: ledger epochs, per-product versions, sharded
catalog versions (replacing the single data_version row)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from alembic.util.pyfiles import load_module_py

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# gql.cache.models.CATALOG_SHARDS, as it was when this revision was written.
SHARDS = 64
# The writing transaction's id, as a number (gql.inventory.ledger: rows are delivered in
# (epoch, id) order).
CURRENT_TRANSACTION = "CAST(CAST(pg_current_xact_id() AS text) AS bigint)"
# Product columns whose change is a catalog edit (stock, version and updated_at change with
# every order and are not).
EDITED_COLUMNS = "sku, name, description, price, created_at"


def _bump(shard: str) -> str:
    return (
        f"INSERT INTO catalog_version (shard, edits, availability) VALUES ({shard}, 1, 0) "  # noqa: S608 (a constant)
        "ON CONFLICT (shard) DO UPDATE SET edits = catalog_version.edits + 1"
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _data_version_revision().downgrade()
    op.create_table(
        "catalog_version",
        sa.Column("shard", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("edits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("availability", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_catalog_version")),
    )
    op.add_column(
        "product", sa.Column("version", sa.BigInteger(), server_default="1", nullable=False)
    )
    # Rows written before this revision come first, in id order (their transactions ended).
    for table, column in (("product", "ledger_epoch"), ("stock_movement", "epoch")):
        op.add_column(table, sa.Column(column, sa.BigInteger(), server_default="0", nullable=False))
        if postgresql:
            op.alter_column(table, column, server_default=sa.text(CURRENT_TRANSACTION))
    op.create_index("ix_stock_movement_epoch_id", "stock_movement", ["epoch", "id"])
    if postgresql:
        _edit_triggers_postgresql()
    else:
        _edit_triggers_sqlite()


def _edit_triggers_postgresql() -> None:
    for table, product_id in (("product", "id"), ("product_image", "product_id")):
        op.execute(
            f"CREATE FUNCTION {table}_edited() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' THEN {_bump(f'OLD.{product_id} % {SHARDS}')}; END IF; "
            f"IF TG_OP <> 'DELETE' THEN {_bump(f'NEW.{product_id} % {SHARDS}')}; END IF; "
            "RETURN NULL; END $$"
        )
    # Row by row, so that edits of different products bump different shards.
    op.execute(
        f"CREATE TRIGGER product_edited AFTER INSERT OR DELETE OR UPDATE OF {EDITED_COLUMNS} "
        "ON product FOR EACH ROW EXECUTE FUNCTION product_edited()"
    )
    op.execute(
        "CREATE TRIGGER product_image_edited AFTER INSERT OR DELETE OR UPDATE ON product_image "
        "FOR EACH ROW EXECUTE FUNCTION product_image_edited()"
    )
    op.execute(
        "CREATE FUNCTION catalog_truncated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE catalog_version SET edits = edits + 1; RETURN NULL; END $$"
    )
    for table in ("product", "product_image"):
        op.execute(
            f"CREATE TRIGGER {table}_truncated AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION catalog_truncated()"
        )


def _edit_triggers_sqlite() -> None:
    for table, product_id in (("product", "id"), ("product_image", "product_id")):
        events = {
            "insert": ("INSERT", ["new"]),
            "delete": ("DELETE", ["old"]),
            "update": (
                f"UPDATE OF {EDITED_COLUMNS}" if table == "product" else "UPDATE",
                ["old", "new"],
            ),
        }
        for name, (event, rows) in events.items():
            bumps = "".join(f"{_bump(f'{row}.{product_id} % {SHARDS}')}; " for row in rows)
            op.execute(
                f"CREATE TRIGGER {table}_{name}_edited AFTER {event} ON {table} BEGIN {bumps}END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for table in ("product", "product_image"):
            op.execute(f"DROP TRIGGER {table}_truncated ON {table}")
            op.execute(f"DROP TRIGGER {table}_edited ON {table}")
            op.execute(f"DROP FUNCTION {table}_edited()")
        op.execute("DROP FUNCTION catalog_truncated()")
    else:
        for table in ("product", "product_image"):
            for name in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {table}_{name}_edited")
    op.drop_index("ix_stock_movement_epoch_id", table_name="stock_movement")
    with op.batch_alter_table("stock_movement") as batch:
        batch.drop_column("epoch")
    with op.batch_alter_table("product") as batch:
        batch.drop_column("ledger_epoch")
        batch.drop_column("version")
    op.drop_table("catalog_version")
    _data_version_revision().upgrade()


def _data_version_revision() -> ModuleType:
    """Revision 0006, whose upgrade made what this one replaces."""
    path = Path(__file__).with_name("0006_data_version.py")
    return load_module_py("gql_migration_0006", path)
