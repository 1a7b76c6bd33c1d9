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
from gql.catalog.models import SEARCH_INDEXES, Product, ProductImage
from gql.core.db import Base
from gql.inventory.models import StockMovement
from gql.media.models import MediaBlob, MediaFile
from gql.orders.models import Order, OrderLine, OrderRefusal
from gql.web.costbudget import CostBucket
from gql.web.ratelimit import RateLimitWindow

# Objects migrations make that the metadata does not describe (PostgreSQL-only indexes).
UNMODELLED = frozenset(SEARCH_INDEXES)


def modelled(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's include_object: whether a schema object is compared with the models."""
    return not (type_ == "index" and reflected and name in UNMODELLED)


__all__ = [
    "UNMODELLED",
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
    "modelled",
    "role_permission",
    "user_role",
]
