"""Compiled catalog reads (gql.catalog.compiled) against the general executor: the same
corpus, sent by each kind of caller to two apps on the same data (one compiling reads, one
not, neither caching), must get byte-identical answers: status, headers and body."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.sessions import AuthTools
from gql.catalog import compiled
from gql.catalog.models import ProductImage
from gql.core.config import Settings
from gql.core.db import Database
from gql.graphql import compat
from gql.graphql.schema import schema
from gql.main import create_app
from tests.conftest import make_settings
from tests.factories import gid, make_product, signed_in

PRODUCT_FIELDS = "__typename id sku name description price stock inStock createdAt updatedAt"
IMAGE_FIELDS = "__typename id url altText position width height resizedUrl(size: SMALL)"
EVERY_FIELD = (
    "{ __typename products(first: 3) { __typename totalCount pageInfo { __typename "
    "hasNextPage hasPreviousPage startCursor endCursor } edges { __typename cursor node { "
    f"{PRODUCT_FIELDS} images {{ {IMAGE_FIELDS} }} }} }} }} }}"
)
PAGE = (
    "query Page($first: Int, $after: String, $order: ProductOrderBy = ID_ASC) { "
    "products(first: $first, after: $after, orderBy: $order) { edges { cursor node { sku "
    "price } } pageInfo { hasNextPage endCursor } } }"
)
ORDERS = ("ID_ASC", "ID_DESC", "PRICE_ASC", "PRICE_DESC", "NAME_ASC", "CREATED_AT_DESC")

# name: (query, variables, whether the compiled path answers it)
CORPUS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "every catalog field": (EVERY_FIELD, {}, True),
    "Q, as the bench sends it": (
        "{ products(first: 50) { edges { node { id name price stock images { url position } } "
        "} } }",
        {},
        True,
    ),
    "aliases, named, inline and interface fragments": (
        "query { a: products(first: 2) { ...page } b: products(first: 1, orderBy: PRICE_DESC) "
        "{ ...page count: totalCount } } fragment page on ProductConnection { edges { node "
        "{ ...item ... on Node { nodeId: id } ... on Product { inStock } } } } "
        "fragment item on Product { id label: name inStock pic: images { link: url } }",
        {},
        True,
    ),
    "merged fields": (
        "{ products(first: 2) { edges { node { id } } edges { cursor node { name id "
        "images { url } } } edges { node { images { position } } } } }",
        {},
        True,
    ),
    "variables with defaults, filters and orders": (
        "query($first: Int = 2, $f: ProductFilterInput, $o: ProductOrderBy = NAME_ASC) { "
        "products(first: $first, filter: $f, orderBy: $o) { totalCount edges { cursor node "
        "{ sku price inStock } } pageInfo { hasNextPage endCursor } } }",
        {"f": {"minPrice": "1.00", "maxPrice": "3.50", "inStock": True, "search": "o"}},
        True,
    ),
    "a search with wildcards, sold-out only": (
        'query { products(filter: {search: "%_", inStock: false}) { totalCount edges { node '
        "{ sku } } } }",
        {},
        True,
    ),
    "a search by name, counted": (
        "query($s: String!) { products(filter: {search: $s}, orderBy: PRICE_DESC) { totalCount "
        "edges { node { sku name } } } }",
        {"s": "BRAVO"},
        True,
    ),
    "include and skip": (
        "query($yes: Boolean!, $no: Boolean!) { products(first: 2) { edges { node { "
        "sku @include(if: $yes) name @include(if: $no) price @skip(if: $yes) "
        "images @skip(if: $no) { url } ... on Product @include(if: $no) { description } } } "
        "pageInfo @skip(if: $no) { endCursor } } }",
        {"yes": True, "no": False},
        True,
    ),
    "include and skip, the other way": (
        "query($yes: Boolean!, $no: Boolean!) { products(first: 2) { edges { node { "
        "sku @include(if: $yes) name @include(if: $no) price @skip(if: $yes) "
        "images @skip(if: $no) { url } ... on Product @include(if: $no) { description } } } "
        "pageInfo @skip(if: $no) { endCursor } } }",
        {"yes": False, "no": True},
        True,
    ),
    "one product, guarded stock, missing and foreign ids": (
        "query($id: ID!, $missing: ID!, $image: ID!) { product(id: $id) { sku stock inStock "
        "images { position resizedUrl(size: LARGE) } } missing: product(id: $missing) { sku } "
        'malformed: product(id: "x") { sku } image: product(id: $image) { sku } '
        'huge: product(id: "UHJvZHVjdDo5OTk5OTk5OTk5OTk=") { sku } }',
        {
            "id": gid("Product", 1),
            "missing": gid("Product", 999999),
            "image": gid("ProductImage", 1),
        },
        True,
    ),
    "an empty page": (
        "{ products(first: 0) { edges { cursor } pageInfo { hasNextPage "
        "startCursor endCursor } totalCount } }",
        {},
        True,
    ),
    "several operations, one named": (
        "query A { products(first: 1) { edges { node { sku } } } } query B { product(id: "
        f'"{gid("Product", 2)}") {{ name }} }}',
        {},
        True,
    ),
    # The general executor reports these: the compiled path hands them over.
    "a negative page size": ("{ products(first: -1) { totalCount } }", {}, False),
    "a corrupt cursor": ('{ products(after: "junk") { totalCount } }', {}, False),
    "a search too long": (
        "query($f: ProductFilterInput) { products(filter: $f) { totalCount } }",
        {"f": {"search": "x" * 500}},
        False,
    ),
    "a price out of range": ('{ products(filter: {minPrice: "-1"}) { totalCount } }', {}, False),
    "a variable of the wrong type": (
        "query($first: Int) { products(first: $first) { totalCount } }",
        {"first": "two"},
        False,
    ),
    "not only the catalog": ("{ products(first: 1) { totalCount } me { email } }", {}, False),
}
CALLERS = ("anonymous", "customer", "staff", "admin")
STOCK = re.compile(r"\bstock\b")


@dataclass
class Apps:
    """The two apps, their callers' headers, and the compiled app's metrics."""

    general: httpx.AsyncClient
    compiled: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    compiled_app: Any

    async def both(
        self, query: str, variables: dict[str, Any], caller: str, **extra: Any
    ) -> tuple[httpx.Response, httpx.Response]:
        body: dict[str, Any] = {"query": query, "variables": variables} | extra
        headers = self.headers[caller]
        general = await self.general.post("/graphql", json=body, headers=headers)
        compiled = await self.compiled.post("/graphql", json=body, headers=headers)
        return general, compiled

    def compiled_answers(self) -> float:
        """How many reads the compiled app answered compiled so far."""
        metrics = self.compiled_app.state.metrics
        value: float = metrics.compiled_reads._value.get()
        return value


def _comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [
        (name, value) for name, value in response.headers.items() if name not in ("x-request-id",)
    ]
    return response.status_code, headers, response.content


@pytest.fixture
async def apps(
    db: Database, session: AsyncSession, settings: Settings, auth_tools: AuthTools
) -> AsyncIterator[Apps]:
    for n, sku in enumerate(("Alpha", "Bravo", "Cocoa", "Delta", "Echo_5")):
        # A name with LIKE's wildcards, and quotes and non-ASCII text to escape in JSON.
        name = f'Product {sku} "{n}"' if n < 4 else "Échos 100%_ off\n"
        await make_product(session, sku, name=name, price=f"{n % 3 + 1}.50", stock=n % 2, images=2)
    # An uploaded picture: its resizedUrl is a rendition's, not its url.
    session.add(
        ProductImage(
            product_id=1,
            url="/media/" + "a" * 64 + ".png",
            alt_text="uploaded",
            position=2,
            media_key="a" * 64 + ".png",
            width=800,
            height=600,
        )
    )
    await session.commit()
    url = str(settings.database_url)
    general_app = create_app(
        make_settings(url, response_cache=False, compiled_reads=False), database=db, auth=auth_tools
    )
    compiled_app = create_app(
        make_settings(url, response_cache=False, compiled_reads=True), database=db, auth=auth_tools
    )
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=general_app), base_url="http://testserver"
        ) as general,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=compiled_app), base_url="http://testserver"
        ) as compiled,
    ):
        headers: dict[str, dict[str, str]] = {"anonymous": {}}
        for caller in CALLERS[1:]:
            role = () if caller == "customer" else (caller,)
            headers[caller] = await signed_in(general, db, f"{caller}@example.com", *role)
        yield Apps(general, compiled, headers, compiled_app)


async def test_every_read_of_the_corpus_answers_alike_compiled_or_not(apps: Apps) -> None:
    for name, (query, variables, compiles) in CORPUS.items():
        for caller in CALLERS:
            extra = {"operationName": "B"} if name.startswith("several") else {}
            before = apps.compiled_answers()
            general, compiled = await apps.both(query, variables, caller, **extra)
            assert _comparable(compiled) == _comparable(general), f"{name} as {caller}"
            answered = apps.compiled_answers() - before
            # Stock is guarded: only staff and admins see it; the others get the error the
            # general executor reports.
            refused = STOCK.search(query) is not None and caller in ("anonymous", "customer")
            assert answered == (1 if compiles and not refused else 0), f"{name} as {caller}"


async def test_pages_follow_their_cursors_alike_in_every_order(apps: Apps) -> None:
    for order in ORDERS:
        after = None
        for _ in range(4):
            general, compiled = await apps.both(
                PAGE, {"first": 2, "after": after, "order": order}, "anonymous"
            )
            assert _comparable(compiled) == _comparable(general), order
            page = general.json()["data"]["products"]
            after = page["pageInfo"]["endCursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
        # A cursor of another order is bad input, reported by the general executor.
        general, compiled = await apps.both(PAGE, {"first": 2, "after": after}, "anonymous")
        if order != "ID_ASC" and after is not None:
            assert "errors" in general.json()
        assert _comparable(compiled) == _comparable(general), order


async def test_the_graphql_response_media_type_answers_alike(apps: Apps) -> None:
    accept = {"Accept": "application/graphql-response+json"}
    for caller in CALLERS:
        headers = apps.headers[caller] | accept
        body = {"query": EVERY_FIELD}
        general = await apps.general.post("/graphql", json=body, headers=headers)
        compiled = await apps.compiled.post("/graphql", json=body, headers=headers)
        assert _comparable(compiled) == _comparable(general), caller


async def test_a_read_over_its_cost_budget_is_refused_alike(
    db: Database, settings: Settings, auth_tools: AuthTools, session: AsyncSession
) -> None:
    await make_product(session, "Alpha", images=1)
    url = str(settings.database_url)
    answers = []
    for compiled_reads in (False, True):
        app = create_app(
            make_settings(
                url,
                response_cache=False,
                compiled_reads=compiled_reads,
                cost_budget_maximum=40,
                max_query_cost=40,
                cost_restore_rate=1,
            ),
            database=db,
            auth=auth_tools,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            body = {"query": "{ products(first: 5) { edges { node { sku images { url } } } } }"}
            answers.append(
                [_comparable(await client.post("/graphql", json=body)) for _ in range(4)]
            )
    general, compiled = answers
    assert general[0][0] == 200
    assert general[-1][0] == 429, general[-1]
    # The budget restores a point a second: figures may differ by the time between runs.
    assert [status for status, _, _ in compiled] == [status for status, _, _ in general]
    assert compiled[0][2] == general[0][2]


def test_every_field_of_the_catalog_types_is_compiled() -> None:
    # A field added to these types falls back to the general executor: this says so.
    core = compat.core_schema(schema)
    tables = {
        "Product": compiled.PRODUCT,
        "ProductImage": compiled.IMAGE | {"resizedUrl": "per size"},
        "ProductEdge": compiled.EDGE,
        "ProductConnection": compiled.CONNECTION,
        "PageInfo": compiled.PAGE_INFO,
    }
    for type_name, table in tables.items():
        object_type = core.get_type(type_name)
        assert isinstance(object_type, GraphQLObjectType)
        assert set(object_type.fields) | {"__typename"} == set(table), type_name


async def test_a_compiled_read_that_fails_unexpectedly_is_answered_by_the_general_executor(
    apps: Apps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the compiled path breaks while reading the images
    async def broken(*_: object) -> None:
        raise RuntimeError("the compiled path broke")

    monkeypatch.setattr(compiled, "_images", broken)
    query = "{ products(first: 2) { edges { node { sku images { url } } } } }"
    before = apps.compiled_answers()
    # when
    general, answered = await apps.both(query, {}, "anonymous")
    # then: the general executor answers, as it does without compiled reads
    assert _comparable(answered) == _comparable(general)
    assert answered.json()["data"]["products"]["edges"][0]["node"]["images"]
    assert apps.compiled_answers() == before
