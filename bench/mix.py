"""R, the read mix: a fixed, seeded corpus of distinct catalog reads in each server's
dialect, and the sequence of requests a run sends (Zipf over the corpus, by caller role)."""

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench.queries import product_id
from bench.seed import PRODUCTS

SEED = 20261203
PAGE_SIZE = 20
PAGE_DEPTHS = 100
# gql's orderBy, PostGraphile 4's and 5's (theirs end in the primary key as gql's do).
SORTS = {
    "ID_ASC": ("PRIMARY_KEY_ASC", "PRIMARY_KEY_ASC"),
    "ID_DESC": ("PRIMARY_KEY_DESC", "PRIMARY_KEY_DESC"),
    "PRICE_ASC": ("[PRICE_ASC, PRIMARY_KEY_ASC]", "[PRICE_ASC, PRIMARY_KEY_ASC]"),
    "PRICE_DESC": ("[PRICE_DESC, PRIMARY_KEY_DESC]", "[PRICE_DESC, PRIMARY_KEY_DESC]"),
    "NAME_ASC": ("[NAME_ASC, PRIMARY_KEY_ASC]", "[NAME_ASC, PRIMARY_KEY_ASC]"),
    "CREATED_AT_DESC": (
        "[CREATED_AT_DESC, PRIMARY_KEY_DESC]",
        "[CREATED_AT_DESC, PRIMARY_KEY_DESC]",
    ),
}
SEARCHES = 1000
PRICE_RANGES = 1000
DETAILS = 2500
# Callers: anonymous, customers (signed in), staff (signed in, with `stock`).
ROLES = (("anonymous", 0.70), ("customer", 0.25), ("staff", 0.05))
ZIPF_S = 1.0
SEQUENCE = 20_000
SERVERS = ("gql", "postgraphile4", "postgraphile5")


def _node(server: str, staff: bool) -> str:
    """A product card: its fields, and its images."""
    if server == "gql":
        stock = " stock" if staff else ""
        return f"id name price inStock{stock} images {{ url altText }}"
    key = "id" if server == "postgraphile4" else "rowId"
    # PostGraphile has no permissions here: `stock` is what shows whether it is in stock.
    return (
        f"{key} name price stock productImagesByProductId(orderBy: POSITION_ASC) "
        "{ nodes { url altText } }"
    )


def _list(server: str, staff: bool, arguments: str) -> str:
    if server == "gql":
        return (
            f"products(first: {PAGE_SIZE}{arguments}) {{ edges {{ node {{ {_node(server, staff)} "
            "} } pageInfo { hasNextPage endCursor } }"
        )
    return (
        f"allProducts(first: {PAGE_SIZE}{arguments}) {{ nodes {{ {_node(server, staff)} }} "
        "pageInfo { hasNextPage endCursor } }"
    )


def page_query(server: str, sort: str, staff: bool) -> str:
    """A page of products in one order, after a cursor."""
    order = sort if server == "gql" else SORTS[sort][SERVERS.index(server) - 1]
    return (
        f"query Page($after: {'String' if server == 'gql' else 'Cursor'}) "
        f"{{ {_list(server, staff, f', after: $after, orderBy: {order}')} }}"
    )


def search_query(server: str, staff: bool) -> str:
    """Products whose name or SKU contains a term (case-insensitive)."""
    if server == "gql":
        return f"query Search($s: String!) {{ {_list(server, staff, ', filter: {search: $s}')} }}"
    condition = (
        ", filter: {or: [{name: {includesInsensitive: $s}}, {sku: {includesInsensitive: $s}}]}"
    )
    return f"query Search($s: String!) {{ {_list(server, staff, condition)} }}"


def range_query(server: str, staff: bool, in_stock: bool) -> str:
    """Products within a price range (and in stock)."""
    if server == "gql":
        stock = ", inStock: true" if in_stock else ""
        condition = f", filter: {{minPrice: $min, maxPrice: $max{stock}}}"
        return (
            f"query Range($min: Decimal!, $max: Decimal!) {{ {_list(server, staff, condition)} }}"
        )
    stock = ", stock: {greaterThan: 0}" if in_stock else ""
    condition = (
        f", filter: {{price: {{greaterThanOrEqualTo: $min, lessThanOrEqualTo: $max}}{stock}}}"
    )
    return f"query Range($min: BigFloat!, $max: BigFloat!) {{ {_list(server, staff, condition)} }}"


def detail_query(server: str, staff: bool) -> str:
    """One product by id, with its description and images."""
    if server == "gql":
        stock = " stock" if staff else ""
        return (
            f"query Detail($id: ID!) {{ product(id: $id) {{ id name description price inStock"
            f"{stock} images {{ url altText position }} }} }}"
        )
    field, argument, kind = (
        ("productById", "id", "Int!")
        if server == "postgraphile4"
        else ("productByRowId", "rowId", "Int!")
    )
    key = "id" if server == "postgraphile4" else "rowId"
    images = "productImagesByProductId(orderBy: POSITION_ASC) { nodes { url altText position } }"
    return (
        f"query Detail($id: {kind}) {{ {field}({argument}: $id) {{ {key} name description price "
        f"stock {images} }} }}"
    )


@dataclass(frozen=True)
class Read:
    """One operation of the corpus: what it asks, in each server's terms."""

    kind: str
    sort: str = ""
    depth: int = 0
    term: str = ""
    low: str = ""
    high: str = ""
    in_stock: bool = False
    product: int = 0

    def body(
        self, server: str, staff: bool, cursors: dict[tuple[str, int], str | None]
    ) -> dict[str, Any]:
        """The request body for `server` (page cursors as walked on that server)."""
        if self.kind == "page":
            after = cursors[(self.sort, self.depth)]
            return {"query": page_query(server, self.sort, staff), "variables": {"after": after}}
        if self.kind == "search":
            return {"query": search_query(server, staff), "variables": {"s": self.term}}
        if self.kind == "range":
            return {
                "query": range_query(server, staff, self.in_stock),
                "variables": {"min": self.low, "max": self.high},
            }
        key: str | int = product_id(self.product) if server == "gql" else self.product
        return {"query": detail_query(server, staff), "variables": {"id": key}}


def corpus() -> list[Read]:
    """Every distinct read, in a fixed order of popularity (most read first)."""
    rng = random.Random(SEED)
    reads = [Read("page", sort=s, depth=d) for s in SORTS for d in range(1, PAGE_DEPTHS + 1)]
    terms = rng.sample(range(10_000), SEARCHES)
    reads += [Read("search", term=f"{n:04d}") for n in terms]
    for _ in range(PRICE_RANGES):
        low = Decimal(rng.randrange(100, 95_000)) / 100
        high = low + Decimal(rng.choice((5, 10, 25, 50)))
        reads.append(Read("range", low=str(low), high=str(high), in_stock=rng.random() < 0.5))
    reads += [Read("detail", product=n) for n in rng.sample(range(1, PRODUCTS + 1), DETAILS)]
    # Popularity is unrelated to the kind, except that shallow pages are read more than
    # deep ones, as in any shop: the slots pages got in the shuffle go to them by depth.
    rng.shuffle(reads)
    slots = [n for n, read in enumerate(reads) if read.kind == "page"]
    pages = sorted((reads[n] for n in slots), key=lambda read: read.depth)
    for slot, page in zip(slots, pages, strict=True):
        reads[slot] = page
    return reads


def sequence(reads: list[Read], length: int = SEQUENCE) -> list[tuple[str, int]]:
    """The requests of a run: (role, index into the corpus), Zipf-distributed (rank k drawn
    with weight 1/k^s), seeded."""
    rng = random.Random(SEED + 1)
    weights = [1 / (rank**ZIPF_S) for rank in range(1, len(reads) + 1)]
    indices = rng.choices(range(len(reads)), weights=weights, k=length)
    roles = rng.choices([r for r, _ in ROLES], weights=[w for _, w in ROLES], k=length)
    return list(zip(roles, indices, strict=True))


def requests_file(
    server: str,
    reads: list[Read],
    drawn: list[tuple[str, int]],
    tokens: dict[str, list[str]],
    cursors: dict[tuple[str, int], str | None],
) -> str:
    """The lines the wrk script sends in turn: `token<TAB>JSON body` (no token: anonymous)."""
    lines = []
    for n, (role, index) in enumerate(drawn):
        pool = tokens.get(role) or [""]
        token = pool[n % len(pool)] if server == "gql" else ""
        body = reads[index].body(server, role == "staff", cursors)
        lines.append(f"{token}\t{json.dumps(body, separators=(',', ':'))}")
    return "\n".join(lines) + "\n"


def distinct(reads: list[Read]) -> int:
    """Distinct operations a run may send: each read, and its staff variant."""
    return 2 * len(reads)
