"""Stored images and their references: written inside the transaction that adds the first
reference, removed after the commit that removes the last.

Every writer of a file takes its `media_file` row first, by an upsert that locks the row even
where there was none yet (on SQLite the database's write lock does it), so an upload that
reuses a file and the removal of that file's last reference never interleave: whichever
comes second sees the other's commit.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql.catalog.models import ProductImage
from gql.core.db import Database, insert_for, new_session
from gql.media.images import Picture
from gql.media.keys import is_original, original_of
from gql.media.models import MediaFile
from gql.media.storage import MediaStorage

logger = logging.getLogger("gql.media")


def _claiming(session: AsyncSession, values: dict[str, object]) -> Any:
    """An upsert of a registry row that leaves an existing row as it is but takes its lock
    (a plain row lock would take nothing where no row is yet)."""
    insert = insert_for(session.get_bind().dialect.name)(MediaFile).values(**values)
    return insert.on_conflict_do_update(index_elements=["key"], set_={"key": insert.excluded.key})


async def store_picture(session: AsyncSession, storage: MediaStorage, picture: Picture) -> None:
    """Register the picture and write its bytes, in the caller's transaction (before the
    row that refers to it commits)."""
    values = {
        "key": picture.key,
        "content_type": picture.content_type,
        "byte_size": len(picture.data),
        "width": picture.width,
        "height": picture.height,
    }
    await session.execute(_claiming(session, values))
    await storage.write(session, picture.key, picture.data)


async def _referenced(session: AsyncSession, key: str) -> bool:
    return bool(await session.scalar(select(exists().where(ProductImage.media_key == key))))


async def _remove_if_unreferenced(database: Database, storage: MediaStorage, key: str) -> bool:
    async with new_session(database, write=True) as session:
        # A placeholder where no row is: rolled back, or deleted with the file below.
        placeholder = {"key": key, "content_type": "", "byte_size": 0, "width": 0, "height": 0}
        await session.execute(_claiming(session, placeholder))
        if await _referenced(session, key):
            await session.rollback()
            return False
        await storage.delete_family(session, key)
        await session.execute(delete(MediaFile).where(MediaFile.key == key))
        await session.commit()
    return True


async def release(database: Database, storage: MediaStorage, keys: Iterable[str]) -> list[str]:
    """After a commit that removed references: remove each file that nothing refers to
    any more (with its renditions); returns the keys removed. A failure leaves an orphan for
    `gql check-media`, never a missing file."""
    removed = []
    for key in sorted(set(keys)):
        try:
            if await _remove_if_unreferenced(database, storage, key):
                removed.append(key)
        except Exception:
            logger.exception("removing the unreferenced media file %s failed", key)
    return removed


async def locked_registration(session: AsyncSession, key: str) -> MediaFile | None:
    """The registry row of an original, locked against its removal."""
    return (
        await session.scalars(select(MediaFile).where(MediaFile.key == key).with_for_update())
    ).one_or_none()


@dataclass(frozen=True)
class MediaReport:
    """What `gql check-media` found."""

    unreferenced: list[str]  # registered, referenced by no image
    unregistered: list[str]  # stored bytes with no registered original
    missing: list[str]  # referenced, but no bytes stored


async def check_media(database: Database, storage: MediaStorage, *, repair: bool) -> MediaReport:
    """Compare storage, registry and references; with `repair`, remove the orphans."""
    async with new_session(database, write=False) as session:
        registered = set(await session.scalars(select(MediaFile.key)))
        referenced = {
            key
            for key in await session.scalars(
                select(ProductImage.media_key).where(ProductImage.media_key.is_not(None))
            )
            if key is not None
        }
    stored = await storage.keys()
    originals = {key for key in stored if is_original(key)}
    families = {key.split(".")[0] for key in registered}
    report = MediaReport(
        unreferenced=sorted(registered - referenced),
        unregistered=sorted(key for key in stored if key.split(".")[0] not in families),
        missing=sorted(key for key in referenced if key not in originals),
    )
    if repair:
        originals_of_unregistered = {original_of(key) for key in report.unregistered}
        await release(database, storage, [*report.unreferenced, *originals_of_unregistered])
    return report
