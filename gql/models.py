"""Every table of the service, imported together so that the metadata is complete."""

from gql.catalog.models import Product, ProductImage
from gql.db import Base

__all__ = ["Base", "Product", "ProductImage"]
