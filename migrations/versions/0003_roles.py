"""roles and permissions, seeded with admin, staff and customer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The catalogue as of this revision (later revisions change it with their own data steps).
PERMISSIONS = {
    "product:write": "Create, change and delete products and their images.",
    "inventory:read": "See stock levels, stock movements and live stock events.",
    "inventory:write": "Adjust stock levels.",
    "order:create": "Place and cancel one's own orders.",
    "order:read_all": "See every customer's orders.",
    "order:manage": "Cancel any order.",
    "user:manage": "List users and activate or deactivate them.",
    "role:manage": "Create roles, change their permissions and give them to users.",
}
ROLES = {
    "admin": ("Everything.", list(PERMISSIONS)),
    "staff": (
        "Runs the shop: catalog, inventory and orders.",
        ["product:write", "inventory:read", "inventory:write", "order:read_all", "order:manage"],
    ),
    "customer": ("Buys things; every new account gets it.", ["order:create"]),
}


def upgrade() -> None:
    permission = op.create_table(
        "permission",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_permission")),
    )
    role = op.create_table(
        "role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role")),
        sa.UniqueConstraint("name", name=op.f("uq_role_name")),
    )
    role_permission = op.create_table(
        "role_permission",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("permission_name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["permission_name"],
            ["permission.name"],
            name=op.f("fk_role_permission_permission_name_permission"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["role.id"],
            name=op.f("fk_role_permission_role_id_role"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("role_id", "permission_name", name=op.f("pk_role_permission")),
    )
    op.create_table(
        "user_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"], ["role.id"], name=op.f("fk_user_role_role_id_role"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_user_role_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_user_role")),
    )
    op.create_index("ix_user_role_role_id", "user_role", ["role_id"])

    op.bulk_insert(permission, [{"name": n, "description": d} for n, d in PERMISSIONS.items()])
    op.bulk_insert(role, [{"name": n, "description": d} for n, (d, _) in ROLES.items()])
    connection = op.get_bind()
    role_ids = dict(connection.execute(sa.select(role.c.name, role.c.id)).all())
    op.bulk_insert(
        role_permission,
        [
            {"role_id": role_ids[name], "permission_name": granted}
            for name, (_, permissions) in ROLES.items()
            for granted in permissions
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_user_role_role_id", table_name="user_role")
    op.drop_table("user_role")
    op.drop_table("role_permission")
    op.drop_table("role")
    op.drop_table("permission")
