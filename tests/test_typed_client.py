"""The typed Python client in examples/gql_client/: what ariadne-codegen makes of
schema.graphql and examples/operations.graphql, byte for byte, and it works against the API."""

import importlib
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import gid, make_product

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def gql_client(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The generated package, imported as examples/python_client.py imports it."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    return importlib.import_module("gql_client")


def test_the_committed_client_is_what_the_schema_and_operations_generate() -> None:
    # given / when: a fresh generation in a scratch directory (the first run installs the
    # generator's pinned environment, .venv-codegen), compared with examples/gql_client/
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "codegen.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # then
    if result.returncode != 0:
        pytest.fail(f"{result.stdout}\n{result.stderr}", pytrace=False)


async def test_a_listed_product_refetches_through_node(
    gql_client: ModuleType, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # given
    await make_product(session, "MUG", name="Mug", price="12.50", stock=3)
    await make_product(session, "CUP", name="Cup", price="4.00", stock=0)
    typed = gql_client.GqlClient(url="http://testserver/graphql", http_client=client)
    # when
    page = (await typed.products(first=5)).products
    listed = page.edges[1].node
    refetched = (await typed.product_node(id=listed.id)).node
    # then
    assert page.total_count == 2
    assert [edge.node.name for edge in page.edges] == ["Mug", "Cup"]
    assert isinstance(refetched, gql_client.ProductNodeNodeProduct)
    assert refetched.typename__ == "Product"
    assert (refetched.id, refetched.name, refetched.price, refetched.in_stock) == (
        listed.id,
        "Cup",
        Decimal("4.00"),
        False,
    )


async def test_node_of_a_missing_product_is_none(
    gql_client: ModuleType, client: httpx.AsyncClient
) -> None:
    # given
    typed = gql_client.GqlClient(url="http://testserver/graphql", http_client=client)
    # when
    result = await typed.product_node(id=gid("Product", 404))
    # then
    assert result.node is None
