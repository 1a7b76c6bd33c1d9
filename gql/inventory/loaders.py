"""Per-request DataLoaders of inventory."""

from aiodataloader import DataLoader

from gql.graphql.context import Context
from gql.graphql.loaders import rows_by_key
from gql.inventory import models, service


def movement_by_id(context: Context) -> DataLoader[int, models.StockMovement | None]:
    """Ledger rows by id in one statement."""
    return rows_by_key(context, service.movements_by_ids)
