"""Media tables: the registry of stored files, and their bytes when the database stores them."""

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gql.core.db import Base, utcnow

# "<sha256 hex>.<ext>" for an original, "<sha256 hex>.w<size>.<ext>" for a rendition.
MAX_KEY = 100


class MediaFile(Base):
    """An original image in storage; its row is what uploads and deletions lock, so a file
    is never removed while a new reference to it commits."""

    __tablename__ = "media_file"

    key: Mapped[str] = mapped_column(String(MAX_KEY), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    byte_size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaBlob(Base):
    """The bytes of an original or a rendition, with the database storage (MEDIA_STORAGE)."""

    __tablename__ = "media_blob"

    key: Mapped[str] = mapped_column(String(MAX_KEY), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
