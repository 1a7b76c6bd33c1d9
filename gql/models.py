"""Every table of the service, imported together so that the metadata is complete."""

from gql.auth.models import (
    AuthSession,
    LoginFailure,
    Permission,
    Role,
    User,
    role_permission,
    user_role,
)
from gql.catalog.models import Product, ProductImage
from gql.db import Base

__all__ = [
    "AuthSession",
    "Base",
    "LoginFailure",
    "Permission",
    "Product",
    "ProductImage",
    "Role",
    "User",
    "role_permission",
    "user_role",
]
