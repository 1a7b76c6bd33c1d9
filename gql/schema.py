"""The GraphQL schema, composed from the domains."""

import logging

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gql.auth.admin import AdminMutation, AdminQuery
from gql.auth.mutations import AuthMutation
from gql.auth.queries import AuthQuery
from gql.catalog.mutations import CatalogMutation
from gql.catalog.queries import CatalogQuery
from gql.extensions import CodedErrors, OperationKind, is_unexpected
from gql.inventory.mutations import InventoryMutation
from gql.inventory.queries import InventoryQuery
from gql.orders.mutations import OrderMutation
from gql.orders.queries import OrderQuery

logger = logging.getLogger("gql.errors")

Query = merge_types("Query", (AuthQuery, AdminQuery, CatalogQuery, InventoryQuery, OrderQuery))
Mutation = merge_types(
    "Mutation", (AuthMutation, AdminMutation, CatalogMutation, InventoryMutation, OrderMutation)
)


class Schema(strawberry.Schema):
    """Logs unexpected errors with their traceback; expected ones are the client's business."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Called with the original errors, before CodedErrors masks them."""
        for error in errors:
            if is_unexpected(error):
                logger.error(
                    "unexpected error in %s at %s",
                    execution_context.operation_name if execution_context else None,
                    error.path,
                    exc_info=error.original_error,
                )


schema = Schema(query=Query, mutation=Mutation, extensions=[OperationKind, CodedErrors])
