from .async_base_client import AsyncBaseClient
from .base_model import BaseModel
from .client import GqlClient
from .enums import StockMovementReason
from .exceptions import (
    GraphQLClientError,
    GraphQLClientGraphQLError,
    GraphQLClientGraphQLMultiError,
    GraphQLClientHttpError,
    GraphQLClientInvalidResponseError,
)
from .login import (
    Login,
    LoginLoginAuthPayload,
    LoginLoginAuthPayloadUser,
    LoginLoginInvalidCredentialsError,
    LoginLoginRateLimitedError,
)
from .product_node import ProductNode, ProductNodeNodeNode, ProductNodeNodeProduct
from .products import (
    Products,
    ProductsProducts,
    ProductsProductsEdges,
    ProductsProductsEdgesNode,
    ProductsProductsPageInfo,
)
from .refresh import Refresh, RefreshRefreshToken
from .stock_changed import (
    StockChanged,
    StockChangedStockChanged,
    StockChangedStockChangedProduct,
)

__all__ = [
    "AsyncBaseClient",
    "BaseModel",
    "GqlClient",
    "GraphQLClientError",
    "GraphQLClientGraphQLError",
    "GraphQLClientGraphQLMultiError",
    "GraphQLClientHttpError",
    "GraphQLClientInvalidResponseError",
    "Login",
    "LoginLoginAuthPayload",
    "LoginLoginAuthPayloadUser",
    "LoginLoginInvalidCredentialsError",
    "LoginLoginRateLimitedError",
    "ProductNode",
    "ProductNodeNodeNode",
    "ProductNodeNodeProduct",
    "Products",
    "ProductsProducts",
    "ProductsProductsEdges",
    "ProductsProductsEdgesNode",
    "ProductsProductsPageInfo",
    "Refresh",
    "RefreshRefreshToken",
    "StockChanged",
    "StockChangedStockChanged",
    "StockChangedStockChangedProduct",
    "StockMovementReason",
]
