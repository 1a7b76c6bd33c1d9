"""What gql.graphql.compat assumes of Strawberry and graphql-core: an upgrade that breaks
an assumption fails here, naming it (the differential test then compares behaviour)."""

import enum
import inspect
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import strawberry
from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from gql.catalog.types import Product
from gql.graphql import compat
from gql.graphql.schema import schema


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_execution_context_has_what_the_executor_overrides_and_calls() -> None:
    base = compat.ExecutionContextBase
    assert _parameters(base.execute_fields) == [
        "self", "parent_type", "source_value", "path", "grouped_field_set", "position_context",
    ]  # fmt: skip
    assert _parameters(base.complete_value) == [
        "self", "return_type", "field_details_list", "info", "path", "result",
        "position_context",
    ]  # fmt: skip
    assert _parameters(base.execute_field)[1:] == [
        "parent_type", "source", "field_details_list", "path", "position_context",
    ]  # fmt: skip
    assert _parameters(base.collect_subfields)[1:] == ["return_type", "field_details_list"]
    assert _parameters(base.handle_field_error)[1:] == [
        "raw_error", "return_type", "field_details_list", "path",
    ]  # fmt: skip
    assert _parameters(base.settle_in_background)[1:] == ["awaitables"]
    assert callable(base.is_awaitable)


def test_strawberrys_internals_are_where_compat_reads_them() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def raw(self, info: strawberry.Info) -> bool:
            raw = compat.raw_info(info)
            # What fanout and the subscription groups read of it.
            return isinstance(raw.schema, GraphQLSchema) and all(
                hasattr(raw, name) for name in ("field_nodes", "operation", "fragments", "path")
            )

    small = strawberry.Schema(query=Query)
    assert small.execute_sync("{ raw }").data == {"raw": True}
    core = compat.core_schema(schema)
    field = core.query_type.fields["products"]  # type: ignore[union-attr]
    assert field.extensions[compat.DEFINITION_BACKREF].python_name == "products"
    assert issubclass(compat.OperationStreamClosed, BaseException)
    handler = BaseGraphQLTransportWSHandler
    assert _parameters(handler._send_result_stream)[1:] == ["operation", "result_source"]
    # gql.realtime.websocket replaces these two: their shape must not have moved.
    assert _parameters(handler.run_operation)[1:] == ["operation"]
    assert _parameters(handler.handle) == ["self"]


def test_descriptions_set_after_a_type_is_made_reach_the_schema() -> None:
    class Size(enum.StrEnum):
        SMALL = "SMALL"
        LARGE = "LARGE"

    strawberry.enum(Size, description="How big.")
    compat.describe_enum_values(Size, {"SMALL": "Fits in a hand."})

    @strawberry.type
    class Query:
        size: Size = Size.SMALL

    compat.describe(Query, "The root.")
    core = compat.core_schema(strawberry.Schema(query=Query))
    size = core.get_type("Size")
    assert isinstance(size, GraphQLEnumType)
    assert core.query_type is not None and core.query_type.description == "The root."
    assert size.values["SMALL"].description == "Fits in a hand."
    assert size.values["LARGE"].description is None
    with pytest.raises(ValueError, match="MEDIUM"):
        compat.describe_enum_values(Size, {"MEDIUM": "No such value."})


def test_the_is_type_of_of_a_node_type_decides_from_the_value_alone() -> None:
    # gql's executor completes Node types (which Strawberry gives an is_type_of) itself,
    # checking values with is_type_of(value, None)
    core = compat.core_schema(schema)
    product = core.get_type("Product")
    assert isinstance(product, GraphQLObjectType) and product.is_type_of is not None
    assert compat.checks_without_info(product)
    row = Product(
        id=strawberry.ID("x"),
        db_id=1,
        sku="S",
        name="N",
        description="",
        price=Decimal("1.00"),
        stock=1,
        in_stock=True,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    assert product.is_type_of(row, None) is True  # type: ignore[arg-type]
    assert product.is_type_of(object(), None) is False  # type: ignore[arg-type]
