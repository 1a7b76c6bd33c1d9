"""GET /media/<key>: stored images and their renditions, made on first request. Keys name
their bytes, so answers are cached for a year and revalidated by ETag."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gql.core.db import Database, new_session
from gql.media.keys import CONTENT_TYPES, KEY, original_of
from gql.media.renditions import SIZES, render
from gql.media.service import locked_registration
from gql.media.storage import MediaStorage

CACHE_CONTROL = "public, max-age=31536000, immutable"


def _not_found() -> Response:
    return Response(status_code=404, headers={"cache-control": "no-store"})


async def _rendition(
    database: Database, storage: MediaStorage, key: str, size: int
) -> bytes | None:
    """Rendered from the original and kept, while its registration is held (a removal of the
    original waits, so no rendition outlives it)."""
    original_key = original_of(key)
    original = await storage.read(original_key)
    if original is None:
        return None
    data = await asyncio.to_thread(render, original, size)
    async with new_session(database, write=True) as session:
        if await locked_registration(session, original_key) is None:
            return None
        await storage.write(session, key, data)
        await session.commit()
    return data


def media_router(database: Database, storage: MediaStorage) -> APIRouter:
    """The route that serves stored images."""
    router = APIRouter()

    @router.get("/media/{key}", include_in_schema=False)
    async def media(key: str, request: Request) -> Response:
        match = KEY.fullmatch(key)
        if match is None:
            return _not_found()
        size = match["size"]
        if size is not None and int(size) not in SIZES:
            return _not_found()
        etag = f'"{key}"'
        headers = {"etag": etag, "cache-control": CACHE_CONTROL}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        data = await storage.read(key)
        if data is None and size is not None:
            data = await _rendition(database, storage, key, int(size))
        if data is None:
            return _not_found()
        return Response(data, media_type=CONTENT_TYPES[match["ext"]], headers=headers)

    return router
