"""Guard: no root field is left unguarded, and docs/permissions.md is current."""

from pathlib import Path

import strawberry

from gql.cli import export_permissions_text
from gql.permissions import public, requires, unguarded_fields
from gql.schema import schema

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"


def test_every_root_field_is_guarded_or_public() -> None:
    assert unguarded_fields(schema) == []


def test_the_gate_catches_a_new_unguarded_field() -> None:
    # given: a throwaway schema with one field of each kind
    @strawberry.type
    class Query:
        @strawberry.field(metadata=public())
        def open_on_purpose(self) -> int:
            return 1

        @strawberry.field(extensions=requires("product:write"))
        def guarded(self) -> int:
            return 2

        @strawberry.field
        def forgotten(self) -> int:
            return 3

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def also_forgotten(self) -> int:
            return 4

    # when / then
    assert unguarded_fields(strawberry.Schema(query=Query, mutation=Mutation)) == [
        "Mutation.alsoForgotten",
        "Query.forgotten",
    ]


def test_permission_matrix_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == export_permissions_text(), (
        "docs/permissions.md is stale: run `gql export-permissions -o docs/permissions.md`"
    )
