"""Every table of the service, imported together so that the metadata is complete."""

from gql.auth.models import AuthSession, LoginFailure, User
from gql.catalog.models import Product, ProductImage
from gql.db import Base

__all__ = ["AuthSession", "Base", "LoginFailure", "Product", "ProductImage", "User"]
