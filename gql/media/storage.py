"""Where stored images live, behind one small interface: the database (every instance
shares it) or a local directory. Writes and deletions run inside the caller's transaction,
while it holds the file's registry row (gql.media.service), so that a file is written before
the row that names it commits and removed only while nothing can start naming it."""

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.core.config import Settings
from gql.core.db import Database, insert_for, new_session
from gql.media.keys import KEY, family_prefix
from gql.media.models import MediaBlob


class MediaStorage(Protocol):
    """Bytes by key."""

    async def write(self, session: AsyncSession, key: str, data: bytes) -> None:
        """Store `data` under `key` (kept as it is when the key exists: keys name content)."""

    async def read(self, key: str) -> bytes | None:
        """The bytes under `key`, or None."""

    async def delete_family(self, session: AsyncSession, key: str) -> None:
        """Remove an original and its renditions."""

    async def keys(self) -> set[str]:
        """Every key stored (for `gql check-media`)."""


class DatabaseStorage:
    """Bytes in the `media_blob` table, written in the caller's transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def write(self, session: AsyncSession, key: str, data: bytes) -> None:
        """Inserted unless present."""
        insert = insert_for(session.get_bind().dialect.name)
        await session.execute(insert(MediaBlob).values(key=key, data=data).on_conflict_do_nothing())

    async def read(self, key: str) -> bytes | None:
        """One statement, outside any transaction."""
        async with new_session(self.database, write=False, transaction=False) as session:
            data: bytes | None = await session.scalar(
                select(MediaBlob.data).where(MediaBlob.key == key)
            )
        return data

    async def delete_family(self, session: AsyncSession, key: str) -> None:
        """The rows of the original and of its renditions."""
        await session.execute(
            delete(MediaBlob).where(MediaBlob.key.startswith(family_prefix(key), autoescape=True))
        )

    async def keys(self) -> set[str]:
        """Every key in the table."""
        async with new_session(self.database, write=False) as session:
            return set(await session.scalars(select(MediaBlob.key)))


class DirectoryStorage:
    """Files named by their keys in one directory; each written whole (a temporary file
    renamed into place), so a reader never sees half a file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        if KEY.fullmatch(key) is None:
            raise ValueError(f"not a media key: {key!r}")
        return self.directory / key

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def _read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def _delete_family(self, key: str) -> None:
        for path in self.directory.glob(family_prefix(key) + "*"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _keys(self) -> set[str]:
        if not self.directory.is_dir():
            return set()
        return {path.name for path in self.directory.iterdir() if KEY.fullmatch(path.name)}

    async def write(self, session: AsyncSession, key: str, data: bytes) -> None:
        """Written off the event loop."""
        await asyncio.to_thread(self._write, key, data)

    async def read(self, key: str) -> bytes | None:
        """Read off the event loop."""
        return await asyncio.to_thread(self._read, key)

    async def delete_family(self, session: AsyncSession, key: str) -> None:
        """Unlinked off the event loop."""
        await asyncio.to_thread(self._delete_family, key)

    async def keys(self) -> set[str]:
        """The names in the directory that are keys."""
        return await asyncio.to_thread(self._keys)


def storage_for(settings: Settings, database: Database) -> MediaStorage:
    """The storage MEDIA_STORAGE (or the database's kind) selects."""
    if settings.media_storage_kind == "database":
        return DatabaseStorage(database)
    return DirectoryStorage(settings.media_dir)
