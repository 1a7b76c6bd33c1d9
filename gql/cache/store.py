"""Cached answers in memory: a bounded LRU map from request bodies to answers per
permission scope (what the guards of its fields decide on), each served only while the
versions it was computed from still hold."""

from collections import OrderedDict
from dataclasses import dataclass, field

from gql.cache.versions import CatalogVersions


@dataclass(frozen=True)
class Entry:
    """One cached answer and what it was computed from."""

    edits: int
    # None when no `inStock` filter chose the products: availability changes pass it by.
    availability: int | None
    product_ids: tuple[int, ...]
    products_version: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes

    def fresh(self, product_ids: tuple[int, ...], now: CatalogVersions) -> bool:
        """Whether nothing it depends on changed, by versions read for `product_ids` (which
        must be its own products)."""
        return (
            self.edits == now.edits
            and self.product_ids == product_ids
            and self.products_version == now.products
            and (self.availability is None or self.availability == now.availability)
        )


@dataclass
class Slot:
    """The answers to one request body, one per permission scope, and the products whose
    versions the next check reads (those of the answer stored last)."""

    product_ids: tuple[int, ...] = ()
    entries: dict[str, Entry] = field(default_factory=dict)


# What an entry costs beside its body: its headers, tuples and dicts (about; for the bound).
ENTRY_OVERHEAD = 512


def _cost(slot: Slot) -> int:
    return sum(len(entry.body) + ENTRY_OVERHEAD for entry in slot.entries.values())


class ResponseStore:
    """A bounded LRU map from request keys to slots of answers: at most `size` bodies and
    about `max_bytes` of answers."""

    def __init__(self, size: int, max_bytes: int | None = None) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._slots: OrderedDict[bytes, Slot] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._slots)

    def slot(self, key: bytes) -> Slot | None:
        """The answers kept for `key`, now the most recently used."""
        slot = self._slots.get(key)
        if slot is not None:
            self._slots.move_to_end(key)
        return slot

    def get(
        self, key: bytes, scope: str, asked: tuple[int, ...], now: CatalogVersions
    ) -> Entry | None:
        """The answer for `key` and `scope` if nothing it depends on changed, by versions
        read for the products `asked` (those of the slot when the check was asked: another
        answer may have replaced them since)."""
        slot = self._slots.get(key)
        entry = slot.entries.get(scope) if slot is not None else None
        if entry is None or not entry.fresh(asked, now):
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, key: bytes, scope: str, entry: Entry) -> None:
        """Remember an answer, forgetting the least recently used bodies beyond the
        bounds; an answer larger than the whole byte bound is not kept."""
        if self.max_bytes is not None and len(entry.body) + ENTRY_OVERHEAD > self.max_bytes:
            return
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = Slot()
        self.bytes -= _cost(slot)
        slot.entries[scope] = entry
        slot.product_ids = entry.product_ids
        self.bytes += _cost(slot)
        self._slots.move_to_end(key)
        while len(self._slots) > self.size or (
            self.max_bytes is not None and self.bytes > self.max_bytes and len(self._slots) > 1
        ):
            _, forgotten = self._slots.popitem(last=False)
            self.bytes -= _cost(forgotten)
