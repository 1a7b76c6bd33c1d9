"""Guard: the checked-in schema.graphql is the live schema."""

import subprocess
import sys
from pathlib import Path

from graphql import build_schema

from gql.cli import export_schema_text

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_checked_in_schema_matches_the_live_schema() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == export_schema_text(), (
        "schema.graphql is stale: run `gql export-schema -o schema.graphql`"
    )


def test_export_schema_command_prints_the_same_sdl() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gql.cli", "export-schema"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8")


def test_contract_names_are_present() -> None:
    sdl = export_schema_text()
    # Read from the schema, not the text: a described argument is printed on its own lines.
    query = build_schema(sdl).query_type
    assert query is not None
    product = query.fields["product"]
    assert (str(product.args["id"].type), str(product.type)) == ("ID!", "Product")
    for name in (
        "products(",
        "createProduct(",
        "updateProduct(",
        "deleteProduct(",
        "addProductImage(",
        "removeProductImage(",
        "reorderProductImages(",
        "interface UserError",
        "scalar Decimal",
    ):
        assert name in sdl
