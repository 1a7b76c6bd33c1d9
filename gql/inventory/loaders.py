"""Per-request DataLoaders of inventory."""

from aiodataloader import DataLoader

from gql.graphql.context import Context
from gql.inventory import models, service


def movement_by_id(context: Context) -> DataLoader[int, models.StockMovement | None]:
    """Ledger rows by id in one statement."""

    async def load(movement_ids: list[int]) -> list[models.StockMovement | None]:
        async with context.session() as session:
            found = await service.movements_by_ids(session, movement_ids)
        return [found.get(movement_id) for movement_id in movement_ids]

    return DataLoader(load)
