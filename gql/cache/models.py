"""The data versions that cached responses are checked against."""

from sqlalchemy import BigInteger, String, select
from sqlalchemy.ext.asyncio import AsyncSession
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


async def catalog_version(session: AsyncSession) -> int:
    """The catalog's current version (0 before its first change)."""
    version = await session.scalar(select(DataVersion.version).where(DataVersion.name == CATALOG))
    return int(version or 0)
