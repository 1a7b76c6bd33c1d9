"""stock movements are announced after their commit by the writing process, not by a
trigger inside the writing transaction (a transaction that NOTIFYs holds a database-wide
lock through its commit)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic.util.pyfiles import load_module_py

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _notify_trigger_revision() -> ModuleType:
    """Revision 0007, which made the trigger."""
    path = Path(__file__).with_name("0007_ledger_notify_trigger.py")
    return load_module_py("gql_migration_0007", path)


def upgrade() -> None:
    _notify_trigger_revision().downgrade()


def downgrade() -> None:
    _notify_trigger_revision().upgrade()
