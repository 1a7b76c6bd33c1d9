"""The data versions that cached responses are checked against."""

from functools import cache

from sqlalchemy import BigInteger, Select, String, select
from sqlalchemy.orm import Mapped, mapped_column

from gql.db import Base

# Bumped by database triggers on every change to products and their images (stock
# included), in the writing transaction itself; see migration 0006.
CATALOG = "catalog"


class DataVersion(Base):
    """A counter per kind of data, raised by every committed change to it."""

    __tablename__ = "data_version"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


@cache
def catalog_version_query() -> Select[int]:
    """The catalog's current version (no row, read as 0, before its first change)."""
    return select(DataVersion.version).where(DataVersion.name == CATALOG)
