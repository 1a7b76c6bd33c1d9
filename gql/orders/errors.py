"""Expected failures of order operations."""

from gql.core.errors import DomainError


class OrderNotCancellable(DomainError):
    """Only a PLACED order can be cancelled."""

    code = "ORDER_NOT_CANCELLABLE"
