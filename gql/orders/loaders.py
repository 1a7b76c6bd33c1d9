"""Per-request DataLoaders of orders."""

from aiodataloader import DataLoader

from gql.graphql.context import Context
from gql.graphql.loaders import rows_by_key
from gql.orders import models, service


def lines_by_order_id(context: Context) -> DataLoader[int, list[models.OrderLine]]:
    """Lines of many orders in one statement."""

    async def load(order_ids: list[int]) -> list[list[models.OrderLine]]:
        async with context.session() as session:
            grouped = await service.lines_of_orders(session, order_ids)
        return [grouped[order_id] for order_id in order_ids]

    return DataLoader(load)


def order_by_id(context: Context) -> DataLoader[int, models.Order | None]:
    """Orders by id in one statement."""
    return rows_by_key(context, service.orders_by_ids)
