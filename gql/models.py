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
from gql.cache.models import CatalogVersion
from gql.catalog.models import Product, ProductImage
from gql.core.db import Base
from gql.inventory.models import StockMovement
from gql.media.models import MediaBlob, MediaFile
from gql.orders.models import Order, OrderLine, OrderRefusal
from gql.web.costbudget import CostBucket
from gql.web.ratelimit import RateLimitWindow

__all__ = [
    "AuthSession",
    "Base",
    "CatalogVersion",
    "CostBucket",
    "LoginFailure",
    "MediaBlob",
    "MediaFile",
    "Order",
    "OrderLine",
    "OrderRefusal",
    "Permission",
    "Product",
    "ProductImage",
    "RateLimitWindow",
    "Role",
    "StockMovement",
    "User",
    "role_permission",
    "user_role",
]
