"""Guard: no root field is left unguarded, and docs/permissions.md is current."""

from collections.abc import AsyncGenerator
from pathlib import Path

import strawberry
from graphql import parse

from gql.auth.models import User
from gql.auth.sessions import Viewer
from gql.cli import export_permissions_text
from gql.graphql import compat
from gql.graphql.permissions import (
    CALLER,
    SIGNED_IN,
    Guard,
    IsAuthenticated,
    authenticated,
    deciding,
    field_access,
    permissions_guarding,
    public,
    requires,
    requires_any,
    unguarded_fields,
)
from gql.graphql.schema import schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


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

    @strawberry.type
    class Subscription:
        @strawberry.subscription(extensions=requires("inventory:read"))
        async def guarded_feed(self) -> AsyncGenerator[int, None]:
            yield 5

        @strawberry.subscription
        async def forgotten_feed(self) -> AsyncGenerator[int, None]:
            yield 6

    # when
    throwaway = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
    # then
    assert unguarded_fields(throwaway) == [
        "Mutation.alsoForgotten",
        "Query.forgotten",
        "Subscription.forgottenFeed",
    ]


def test_subscription_fields_are_covered_by_the_gate() -> None:
    """Subscriptions are root fields of the gate and the matrix, with their permission."""
    # when
    rules = {(a.type_name, a.field_name): a.rule for a in field_access(schema)}
    # then
    subscription_type = schema._schema.subscription_type
    assert subscription_type is not None
    subscriptions = {name: rule for (kind, name), rule in rules.items() if kind == "Subscription"}
    assert set(subscriptions) == set(subscription_type.fields)
    assert "UNGUARDED" not in subscriptions.values()
    assert subscriptions["stockChanged"] == "inventory:read"
    assert "| `Subscription.stockChanged` | inventory:read |" in export_permissions_text()


def test_permission_matrix_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == export_permissions_text(), (
        "docs/permissions.md is stale: run `gql export-permissions -o docs/permissions.md`"
    )


class OwnerOnly(IsAuthenticated):
    """A rule of another kind: it decides by who the caller is."""

    def decide(self, viewer: Viewer | None, granted: frozenset[str]) -> bool:
        """Only the first user."""
        return viewer is not None and viewer.user.id == 1


def test_what_a_documents_guards_decide_on_tells_callers_apart_only_by_it() -> None:
    # given: a throwaway schema with a field of each kind of guard
    @strawberry.type
    class Query:
        @strawberry.field(metadata=public())
        def open_on_purpose(self) -> int:
            return 1

        @strawberry.field(extensions=requires("inventory:read"))
        def one(self) -> int:
            return 2

        @strawberry.field(extensions=requires_any("order:create", "order:manage"))
        def either(self) -> int:
            return 3

        @strawberry.field(extensions=authenticated())
        def signed_in(self) -> int:
            return 4

        @strawberry.field(extensions=[Guard(OwnerOnly())])
        def mine(self) -> int:
            return 5

    core = compat.core_schema(strawberry.Schema(query=Query))

    def guarding(query: str) -> frozenset[str]:
        return permissions_guarding(core, parse(query))

    def caller(*permissions: str) -> Viewer:
        return Viewer(User(email="c@example.com"), "session", permissions=frozenset(permissions))

    # then: what each document's guards name
    assert guarding("{ openOnPurpose }") == frozenset()
    assert guarding("{ one }") == {"inventory:read"}
    assert guarding("{ either openOnPurpose }") == {"order:create", "order:manage"}
    assert guarding("{ signedIn }") == {SIGNED_IN}
    assert guarding("{ mine openOnPurpose }") == {CALLER}
    # and callers differ only in what those guards decide on
    assert deciding(None, guarding("{ openOnPurpose }")) == frozenset()
    assert deciding(caller("inventory:read"), guarding("{ openOnPurpose }")) == frozenset()
    assert deciding(caller("inventory:read", "x"), guarding("{ one }")) == {"inventory:read"}
    assert deciding(caller("order:manage"), guarding("{ either }")) == {"order:manage"}
    assert deciding(caller(), guarding("{ signedIn }")) == {SIGNED_IN}
    assert deciding(None, guarding("{ signedIn }")) == frozenset()
