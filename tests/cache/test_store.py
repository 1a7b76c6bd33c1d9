"""The response store's bounds: bodies, and bytes of answers."""

from gql.cache.store import ENTRY_OVERHEAD, Entry, ResponseStore
from gql.cache.versions import CatalogVersions

NOW = CatalogVersions(edits=1, availability=1, products=0)


def _entry(size: int) -> Entry:
    return Entry(1, None, (), 0, [], b"x" * size, b'"tag"')


def test_the_least_recently_used_bodies_go_beyond_the_count() -> None:
    store = ResponseStore(size=2)
    store.put(b"a", "public", _entry(10))
    store.put(b"b", "public", _entry(10))
    store.slot(b"a")  # used: b is now the oldest
    store.put(b"c", "public", _entry(10))
    assert [store.get(key, "public", (), NOW) is not None for key in (b"a", b"b", b"c")] == [
        True,
        False,
        True,
    ]


def test_the_least_recently_used_bodies_go_beyond_the_bytes() -> None:
    # given: room for about three answers of 1,000 bytes
    store = ResponseStore(size=100, max_bytes=3 * (1000 + ENTRY_OVERHEAD))
    for key in (b"a", b"b", b"c"):
        store.put(key, "public", _entry(1000))
    # when: a fourth comes, and a second answer (another scope) to the newest body
    store.put(b"d", "public", _entry(1000))
    store.put(b"d", "inventory:read", _entry(1000))
    # then: the oldest went, as many as it took; the count of bytes follows
    assert len(store) == 2
    assert store.get(b"c", "public", (), NOW) is not None
    assert store.get(b"d", "inventory:read", (), NOW) is not None
    assert store.bytes == 3 * (1000 + ENTRY_OVERHEAD)


def test_an_answer_replaced_is_counted_once() -> None:
    store = ResponseStore(size=10, max_bytes=10**6)
    store.put(b"a", "public", _entry(1000))
    store.put(b"a", "public", _entry(500))
    assert store.bytes == 500 + ENTRY_OVERHEAD


def test_an_answer_larger_than_the_whole_bound_is_not_kept() -> None:
    store = ResponseStore(size=10, max_bytes=2000)
    store.put(b"a", "public", _entry(100))
    store.put(b"b", "public", _entry(5000))
    assert len(store) == 1
    assert store.get(b"a", "public", (), NOW) is not None
    assert store.get(b"b", "public", (), NOW) is None


def test_an_answer_is_checked_against_the_products_its_check_asked_about() -> None:
    # given: an answer showing products 1 and 2, both at version 1
    store = ResponseStore(size=10)
    store.put(b"a", "public", Entry(1, None, (1, 2), 2, [], b"old", b'"old"'))
    asked = store.slot(b"a").product_ids  # type: ignore[union-attr]
    # when: while that read's check runs, another answer to the same body replaces it, one
    # showing products 1 and 3 (3 at version 1, read before 3 changed to version 2)
    store.put(b"a", "public", Entry(1, None, (1, 3), 2, [], b"new", b'"new"'))
    # then: versions read for products 1 and 2 (sum 2) do not vouch for it
    assert store.get(b"a", "public", asked, CatalogVersions(1, 1, 2)) is None
    assert store.get(b"a", "public", (1, 3), CatalogVersions(1, 1, 2)) is not None
