"""Every private or version-sensitive use of Strawberry and graphql-core, in one place (in
the manner of Strawberry's own `strawberry/schema/_graphql_core.py`).

Written against strawberry-graphql 0.341 and graphql-core 3.3 (pyproject.toml bounds each
below its next minor; constraints.txt pins the versions CI runs). On an upgrade, run
`make test-newest` (the whole suite, with tests/graphql/test_executor_differential.py
comparing gql's executor with graphql-core's, against the newest versions the bounds
allow), then re-read each item below against the new source:

graphql-core, `graphql.execution.ExecutionContext` (gql.graphql.execution.executor's Executor
extends it through Strawberry's subclass):
- overridden: `execute_fields(parent_type, source_value, path, grouped_field_set,
  position_context)` and `complete_value(return_type, field_details_list, info, path,
  result, position_context)`;
- called: `execute_field` (same arguments as execute_fields' inner call),
  `collect_subfields(return_type, field_details_list)` (its first two results: the grouped
  field set and the new defer usages), `handle_field_error(error, return_type,
  field_details_list, path)`, `settle_in_background(awaitables)`, `is_awaitable`;
- read: `middleware_manager` (the shortcuts stay off under field middleware).
Strawberry:
- `StrawberryGraphQLCoreExecutionContext`: the execution context Strawberry builds for its
  schema, the base of ours;
- `GraphQLCoreConverter.DEFINITION_BACKREF`: where a graphql-core field keeps its
  StrawberryField;
- the `is_type_of` Strawberry gives an object type that implements interfaces (a closure
  named `is_type_of` in `GraphQLCoreConverter.from_object`): it never reads its `info`, so
  gql's executor checks values with it without one (`checks_without_info`);
- `Info._raw_info`: graphql-core's resolve info behind Strawberry's Info;
- `Schema._schema`: the graphql-core schema behind a Strawberry schema;
- `validate_document`: the validation Strawberry runs (graphql-core's rules and its own);
- extension hooks (gql.graphql.extensions' QueryLimits, refusing an operation over its cost
  budget): an `on_execute` hook that sets `execution_context.result` stands for a query's
  or mutation's execution (Strawberry's documented short cut); a subscription ignores it,
  so the hook raises instead, and `Schema._stream` answers the exception as the
  subscription's one result (a `next` message over graphql-transport-ws);
- graphql-transport-ws: `_OperationStreamClosed` and the handler's `_send_result_stream`,
  which gql.realtime.websocket's TransportWSHandler uses while replacing `run_operation`
  and the receive loop `handle` (re-read both against Strawberry's on an upgrade);
- descriptions set after a type is made (`describe`, `describe_enum_values`): the
  `description` of a StrawberryObjectDefinition and of each `EnumValue` of a
  StrawberryEnumDefinition, read when the schema is built;
- HTTP views: requests they cannot take are raised as `cross_web.HTTPException` (status
  and reason; Strawberry's FastAPI router answers them in plain text), and a multipart
  request is read by the view's `parse_multipart(request)` (gql.web.router turns both into
  coded JSON errors).
"""

from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from enum import Enum
from typing import Any

import strawberry
from cross_web import HTTPException
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema import validate_document as strawberry_validate_document
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    _OperationStreamClosed,
)
from strawberry.types import get_object_definition
from strawberry.types.enum import has_enum_definition

# What Strawberry's HTTP views raise for a request they cannot take.
ViewHTTPException = HTTPException
# The base of gql's executor (graphql-core's ExecutionContext, as Strawberry extends it).
ExecutionContextBase = StrawberryGraphQLCoreExecutionContext
# Key of a graphql-core field's extensions that holds its StrawberryField.
DEFINITION_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
# Raised inside an operation's stream when its client completed it (graphql-transport-ws).
OperationStreamClosed = _OperationStreamClosed


def raw_info(info: strawberry.Info[Any, Any]) -> GraphQLResolveInfo[Any]:
    """graphql-core's resolve info behind Strawberry's."""
    raw: GraphQLResolveInfo[Any] = info._raw_info
    return raw


def core_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema behind a Strawberry schema."""
    return schema._schema


def validate_document(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]
) -> list[GraphQLError]:
    """The validation Strawberry runs: the given rules and Strawberry's own."""
    return strawberry_validate_document(schema, document, rules)


def describe(type_: type, description: str) -> None:
    """Give a Strawberry object type its description after it was made (`merge_types`,
    which makes the root types, takes none)."""
    get_object_definition(type_, strict=True).description = description


def describe_enum_values(enum: type[Enum], descriptions: Mapping[str, str]) -> None:
    """Give the values of a Strawberry enum their descriptions, by GraphQL name.

    `strawberry.enum_value` cannot: the domains' StrEnums are exposed as they are, their
    values must be strings, and domain modules do not import strawberry."""
    if not has_enum_definition(enum):
        raise TypeError(f"{enum!r} is not a Strawberry enum")
    values = enum.__strawberry_definition__.values
    unknown = set(descriptions) - {value.name for value in values}
    if unknown:
        raise ValueError(f"{enum.__name__} has no value {', '.join(sorted(unknown))}")
    for value in values:
        value.description = descriptions.get(value.name, value.description)


async def send_result_stream(
    handler: Any, operation: Any, result_source: AsyncIterator[Any]
) -> None:
    """Send an operation's results as Strawberry's graphql-transport-ws handler does."""
    await handler._send_result_stream(operation, result_source)


# --- graphql-core's ExecutionContext, as gql's Executor uses it ------------------------


def execute_field(
    context: Any, parent_type: Any, source: Any, field_details_list: Any, path: Any
) -> Any:
    """One field the standard way (resolver, completion, error handling)."""
    return context.execute_field(parent_type, source, field_details_list, path, None)


def subfields(context: Any, object_type: Any, field_details_list: Any) -> tuple[Any, Any]:
    """The grouped field set of an object's selection, and its new defer usages."""
    grouped_field_set, new_defer_usages, *_ = context.collect_subfields(
        object_type, field_details_list
    )
    return grouped_field_set, new_defer_usages


def handle_field_error(
    context: Any, error: Exception, return_type: Any, field_details_list: Any, path: Any
) -> None:
    """Record a field's error (and null the field, or raise for a non-null one)."""
    context.handle_field_error(error, return_type, field_details_list, path)


def settle_in_background(context: Any, awaitables: Iterable[Awaitable[Any]]) -> None:
    """Let started awaitables finish without anyone waiting for them."""
    context.settle_in_background(list(awaitables))


def has_field_middleware(context: Any) -> bool:
    """Whether field middleware runs (then every field goes the standard way)."""
    manager = context.middleware_manager
    return manager is not None and bool(manager.middlewares)


def checks_without_info(object_type: GraphQLObjectType) -> bool:
    """Whether the type's `is_type_of` is absent or Strawberry's own for a type with
    interfaces, which decides from the value alone (`is_type_of(value, None)`)."""
    check = object_type.is_type_of
    return check is None or getattr(check, "__qualname__", "").endswith(
        "_get_is_type_of.<locals>.is_type_of"
    )
