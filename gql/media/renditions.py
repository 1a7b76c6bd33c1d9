"""Sized renditions of a stored image: a fixed set of sizes, aspect kept, never enlarged."""

import io
from enum import Enum

from PIL import Image

from gql.media.images import JPEG_QUALITY
from gql.media.keys import rendition_key

MEDIA_PATH = "/media/"


class ImageSize(Enum):
    """The bounding boxes renditions fit in (the longest side, in pixels)."""

    THUMBNAIL = 128
    SMALL = 256
    MEDIUM = 512
    LARGE = 1024


SIZES = frozenset(size.value for size in ImageSize)


def media_url(key: str) -> str:
    """Where the app serves a stored file (its key never changes, so neither does this)."""
    return MEDIA_PATH + key


def rendition_url(key: str, size: ImageSize) -> str:
    """Where the app serves the rendition of `key` that fits `size`."""
    return media_url(rendition_key(key, size.value))


def render(original: bytes, size: int) -> bytes:
    """The original scaled to fit a `size` square, in its own format (CPU: run off the
    event loop)."""
    with Image.open(io.BytesIO(original)) as image:
        image_format = image.format or "PNG"
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        options = {"quality": JPEG_QUALITY} if image_format == "JPEG" else {}
        image.save(out, format=image_format, **options)
    return out.getvalue()
