"""The GraphQL schema, composed from the domains."""

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gql.auth.admin import AdminMutation, AdminQuery
from gql.auth.mutations import AuthMutation
from gql.auth.queries import AuthQuery
from gql.catalog.mutations import CatalogMutation
from gql.catalog.queries import CatalogQuery
from gql.graphql import compat
from gql.graphql.execution.executor import Executor
from gql.graphql.extensions import (
    CodedErrors,
    OperationKind,
    QueryLimits,
    Telemetry,
    is_unexpected,
    mask_in_place,
)
from gql.graphql.node import NodeQuery
from gql.graphql.scalars import SCALAR_MAP
from gql.inventory.mutations import InventoryMutation
from gql.inventory.queries import InventoryQuery
from gql.inventory.subscriptions import InventorySubscription
from gql.orders.mutations import OrderMutation
from gql.orders.queries import OrderQuery

logger = logging.getLogger("gql.errors")
SUGGESTION = " Did you mean "

Query = merge_types(
    "Query", (NodeQuery, AuthQuery, AdminQuery, CatalogQuery, InventoryQuery, OrderQuery)
)
Mutation = merge_types(
    "Mutation", (AuthMutation, AdminMutation, CatalogMutation, InventoryMutation, OrderMutation)
)


class Schema(strawberry.Schema):
    """Logs unexpected errors with their traceback; expected ones are the client's business.
    In production no error suggests names of the schema ("Did you mean ...?")."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Called with the original errors, before CodedErrors masks them."""
        settings = getattr(getattr(execution_context, "context", None), "settings", None)
        if settings is not None and settings.is_production:
            for error in errors:
                error.message = error.message.split(SUGGESTION, 1)[0]
        for error in errors:
            if is_unexpected(error):
                logger.error(
                    "unexpected error in %s at %s",
                    execution_context.operation_name if execution_context else None,
                    error.path,
                    exc_info=error.original_error,
                )
                mask_in_place(error)


Subscription = merge_types("Subscription", (InventorySubscription,))
compat.describe(
    Query,
    "Reads. Catalog reads are public; each other field says whom it needs (a signed-in "
    "caller or a permission) and fails with UNAUTHENTICATED or FORBIDDEN without it.",
)
compat.describe(
    Mutation,
    "Writes; each field says whom it needs (register, login and refreshToken are public). "
    "Expected failures are data: members of the field's result union that implement "
    "UserError; request-level failures are in `errors`.",
)
compat.describe(
    Subscription,
    "Live events over a WebSocket (graphql-transport-ws), for a signed-in caller.",
)


def build_schema(execution_context_class: type[Any] = Executor) -> Schema:
    """The API's schema, executed by `execution_context_class` (gql's Executor; tests
    compare it with graphql-core's own)."""
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=execution_context_class,
        # Telemetry first: it exits last, when CodedErrors has given every error its code.
        # OperationKind before QueryLimits: the caller is known when the budget is charged.
        extensions=[Telemetry, OperationKind, QueryLimits, CodedErrors],
    )


schema = build_schema()
