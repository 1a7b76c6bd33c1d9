"""What a catalog answer was computed from, noted while it executes: the products it shows
(each at its version) and whether it chose them by availability (the `inStock` filter)."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class ReadDependencies:
    """The products an answer shows and whether their availability chose them."""

    __slots__ = ("availability", "consistent", "products")

    def __init__(self) -> None:
        self.products: dict[int, int] = {}
        self.availability = False
        # False when one product was read at two versions: the answer mixes two states.
        self.consistent = True

    def note_product(self, product_id: int, version: int) -> None:
        """The answer shows this product as of `version`."""
        if self.products.setdefault(product_id, version) != version:
            self.consistent = False


_current: ContextVar[ReadDependencies | None] = ContextVar("gql_read_dependencies", default=None)


@contextmanager
def recording() -> Iterator[ReadDependencies]:
    """Note the dependencies of what runs inside (tasks started inside included)."""
    dependencies = ReadDependencies()
    token = _current.set(dependencies)
    try:
        yield dependencies
    finally:
        _current.reset(token)


def note_product(product_id: int, version: int) -> None:
    """The answer being recorded, if any, shows this product at this version."""
    dependencies = _current.get()
    if dependencies is not None:
        dependencies.note_product(product_id, version)


def note_availability() -> None:
    """The answer being recorded, if any, chose its products by whether they are in stock."""
    dependencies = _current.get()
    if dependencies is not None:
        dependencies.availability = True
