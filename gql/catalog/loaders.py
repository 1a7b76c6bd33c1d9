"""Per-request DataLoaders of the catalog."""

from aiodataloader import DataLoader

from gql.catalog import listing, models
from gql.graphql.context import Context
from gql.graphql.loaders import rows_by_key


def images_by_product_id(context: Context) -> DataLoader[int, list[listing.ImageRow]]:
    """Images of many products in one statement."""

    async def load(product_ids: list[int]) -> list[list[listing.ImageRow]]:
        async with context.session() as session:
            grouped = await listing.images_of_products(session, product_ids)
        return [grouped[product_id] for product_id in product_ids]

    return DataLoader(load)


def image_by_id(context: Context) -> DataLoader[int, listing.ImageRow | None]:
    """Images by id in one statement."""
    return rows_by_key(context, listing.images_by_ids)


def product_by_id(context: Context) -> DataLoader[int, models.Product | None]:
    """Products by id in one statement."""
    return rows_by_key(context, listing.products_by_ids)
