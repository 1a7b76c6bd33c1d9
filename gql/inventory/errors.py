"""Expected failures of inventory operations."""

from collections.abc import Callable
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
        self.shortages = shortages
        super().__init__(self.describe(levels=True), field=field)

    def describe(self, *, levels: bool, name: Callable[[int], str] = str) -> str:
        """The message, with each product named by `name`, and its stock level only when
        `levels` (for callers who may not see them: only what they asked for)."""
        listed = ", ".join(
            f"product {name(s.product_id)}: {s.requested} requested"
            + (f", {s.available} available" if levels else "")
            for s in self.shortages
        )
        return f"Not enough stock ({listed})."
