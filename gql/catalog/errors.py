"""Expected failures of catalog operations."""

from gql.core.errors import DomainError


class DuplicateSku(DomainError):
    """Another product already has this SKU."""

    code = "DUPLICATE_SKU"


class ProductInUse(DomainError):
    """Orders refer to the product, so it cannot be deleted."""

    code = "PRODUCT_IN_USE"
