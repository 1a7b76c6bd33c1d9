"""Storage keys: content addressed, so a key names the same bytes forever."""

import hashlib
import re

# Pillow's format name: the extension and content type it is stored and served with.
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = {ext: content_type for ext, content_type in FORMATS.values()}
# An original "<sha256>.<ext>"; a rendition "<sha256>.w<size>.<ext>".
KEY = re.compile(r"(?P<digest>[0-9a-f]{64})(?:\.w(?P<size>[0-9]{1,4}))?\.(?P<ext>png|jpg|webp)")


def original_key(data: bytes, image_format: str) -> str:
    """The key of an original: the SHA-256 of its bytes and its format's extension."""
    return f"{hashlib.sha256(data).hexdigest()}.{FORMATS[image_format][0]}"


def rendition_key(key: str, size: int) -> str:
    """The key of an original's rendition at `size`."""
    digest, ext = key.split(".")
    return f"{digest}.w{size}.{ext}"


def family_prefix(key: str) -> str:
    """What the keys of an original and of its renditions begin with."""
    return key.split(".")[0] + "."


def original_of(key: str) -> str:
    """The key of the original a key belongs to (itself for an original)."""
    match = KEY.fullmatch(key)
    if match is None:
        raise ValueError(f"not a media key: {key!r}")
    return f"{match['digest']}.{match['ext']}"


def is_original(key: str) -> bool:
    """Whether a key names an original (not a rendition)."""
    match = KEY.fullmatch(key)
    return match is not None and match["size"] is None
