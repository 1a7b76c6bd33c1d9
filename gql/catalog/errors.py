"""Expected failures of catalog operations."""

from gql.errors import DomainError


class DuplicateSku(DomainError):
    """Another product already has this SKU."""

    code = "DUPLICATE_SKU"
