"""The workloads' GraphQL operations in each server's dialect, and checks of the answers."""

import base64
import binascii
from typing import Any

from bench.seed import IMAGES_PER_PRODUCT, image_rows, product_row

NODE = "id name price stock images { url position }"
Q = "{ products(first: %d) { edges { node { " + NODE + " } } } }"
Q_BY_PRICE = (
    "query Page($after: String) { products(first: 50, after: $after, orderBy: PRICE_ASC) "
    "{ edges { node { " + NODE + " } } pageInfo { hasNextPage endCursor } } }"
)
Q_POSTGRAPHILE = (
    "{ allProducts(first: 50, orderBy: PRIMARY_KEY_ASC) { nodes { id name price stock "
    "productImagesByProductId(orderBy: POSITION_ASC) { nodes { url position } } } } }"
)
Q_POSTGRAPHILE5 = Q_POSTGRAPHILE.replace("nodes { id name", "nodes { rowId name")
LOGIN = (
    "mutation Login($email: String!, $password: String!) { login(input: {email: $email, "
    "password: $password}) { __typename ... on AuthPayload { accessToken } } }"
)
PLACE_ORDER = (
    "mutation Buy($id: ID!) { placeOrder(input: {lines: [{productId: $id, quantity: 1}]}) "
    "{ __typename ... on PlaceOrderSuccess { order { id } } ... on UserError { code message } } }"
)

Product = tuple[str, str, str, int, list[tuple[str, int]]]


def product_id(number: int) -> str:
    """gql's global id of a product (base64 of "Product:n")."""
    return base64.b64encode(f"Product:{number}".encode()).decode()


def row_id(value: str) -> str:
    """The row number in a product id: gql's global ids decoded, others as they are."""
    try:
        kind, _, number = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return value
    return number if kind == "Product" and number.isdigit() else value


def q_body(first: int = 50) -> dict[str, Any]:
    """Q for gql, the baseline and the floor (the same Relay shape)."""
    return {"query": Q % first}


def q_by_price_body(after: str | None) -> dict[str, Any]:
    """A page of products by price after a cursor (None: the first page)."""
    return {"query": Q_BY_PRICE, "variables": {"after": after}}


def expected_first(n: int = 50) -> list[Product]:
    """The first `n` products by id as seeded."""
    products = []
    for i in range(1, n + 1):
        _, _, name, _, price, stock, _, _ = product_row(i)
        images = [(str(row[2]), int(row[4])) for row in image_rows(i)]  # type: ignore[call-overload]
        products.append((str(i), str(name), str(price), int(stock), images))  # type: ignore[call-overload]
    return products


def relay_products(answer: dict[str, Any]) -> list[Product]:
    """Products of a Relay `products` answer."""
    edges = answer["data"]["products"]["edges"]
    return [
        (
            row_id(e["node"]["id"]),
            e["node"]["name"],
            e["node"]["price"],
            e["node"]["stock"],
            [(i["url"], i["position"]) for i in e["node"]["images"]],
        )
        for e in edges
    ]


def postgraphile_products(answer: dict[str, Any]) -> list[Product]:
    """Products of a PostGraphile `allProducts` answer."""
    return [
        (
            str(n["rowId"] if "rowId" in n else n["id"]),
            n["name"],
            str(n["price"]),
            n["stock"],
            [(i["url"], i["position"]) for i in n["productImagesByProductId"]["nodes"]],
        )
        for n in answer["data"]["allProducts"]["nodes"]
    ]


def check_page(products: list[Product], expected: list[Product] | None = None) -> None:
    """50 products with 4 images each (and, when given, exactly the expected data)."""
    if len(products) != 50:
        raise AssertionError(f"expected 50 products, got {len(products)}")
    short = [p[0] for p in products if len(p[4]) != IMAGES_PER_PRODUCT]
    if short:
        raise AssertionError(f"products without {IMAGES_PER_PRODUCT} images: {short[:5]}")
    if expected is not None and products != expected:
        diff = next(i for i, (a, b) in enumerate(zip(products, expected, strict=True)) if a != b)
        raise AssertionError(f"product #{diff}: got {products[diff]}, want {expected[diff]}")
