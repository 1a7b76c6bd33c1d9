"""The catalog versions that cached answers are checked against."""

from sqlalchemy import BigInteger, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from gql.core.db import Base

# Edits of products in different shards never wait for each other (shard = product id % 64).
CATALOG_SHARDS = 64


class CatalogVersion(Base):
    """Counters of one shard of the catalog, raised by committed changes to its products.

    `edits`: a product made, changed (other than its stock) or deleted, an image added,
    changed or removed; raised by triggers in the writing transaction (migration 0008).
    `availability`: a product sold out or back in stock; raised with the ledger rows
    (gql.cache.versions.note_availability). A stock change alone raises neither: it raises
    its own product's `version`.
    """

    __tablename__ = "catalog_version"

    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    edits: Mapped[int] = mapped_column(BigInteger, server_default="0")
    availability: Mapped[int] = mapped_column(BigInteger, server_default="0")
