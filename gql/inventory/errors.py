"""Expected failures of inventory operations."""

from dataclasses import dataclass

from gql.core.errors import DomainError


@dataclass(frozen=True)
class Shortage:
    """A product that has fewer units than asked for."""

    product_id: int
    requested: int
    available: int


class InsufficientStock(DomainError):
    """Some products do not have the units asked for; nothing was changed."""

    code = "INSUFFICIENT_STOCK"

    def __init__(self, shortages: list[Shortage], field: str | None = None) -> None:
        listed = ", ".join(
            f"product {s.product_id}: {s.requested} requested, {s.available} available"
            for s in shortages
        )
        super().__init__(f"Not enough stock ({listed}).", field=field)
        self.shortages = shortages
        # For callers who may not see stock levels: only what they asked for.
        self.message_without_levels = "Not enough stock ({}).".format(
            ", ".join(f"product {s.product_id}: {s.requested} requested" for s in shortages)
        )
