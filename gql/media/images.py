"""Uploaded bytes to a stored image: the format decided from the bytes, decoded and verified
by Pillow within the byte and pixel limits, metadata removed."""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from gql.core.errors import InvalidInput
from gql.media.keys import FORMATS, original_key
from gql.media.metadata import BrokenFile, strip_metadata

EXIF_ORIENTATION = 0x0112
JPEG_QUALITY = 90
DAMAGED = "The image file is damaged and cannot be decoded."


@dataclass(frozen=True)
class Picture:
    """An accepted image, ready to store."""

    key: str
    data: bytes
    image_format: str
    content_type: str
    width: int
    height: int


def _refuse(message: str, field: str) -> InvalidInput:
    return InvalidInput(message, field=field)


def _opened(data: bytes, max_pixels: int, field: str) -> Image.Image:
    """Pillow's view of the bytes (header only), refused unless it is a PNG, JPEG or WebP
    within the pixel limit."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
        except UnidentifiedImageError:
            raise _refuse("The file is not a PNG, JPEG or WebP image.", field) from None
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise _refuse(f"The image has more than {max_pixels} pixels.", field) from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise _refuse(DAMAGED, field) from None
    width, height = image.size
    if width * height > max_pixels:
        raise _refuse(
            f"The image has {width * height} pixels; at most {max_pixels} are accepted.", field
        )
    return image


def _decoded(data: bytes, max_pixels: int, field: str) -> Image.Image:
    """The fully decoded image: a truncated or corrupt file fails here."""
    image = _opened(data, max_pixels, field)
    try:
        image.verify()
        image = _opened(data, max_pixels, field)
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise _refuse(DAMAGED, field) from None
    return image


def _upright(image: Image.Image, image_format: str) -> bytes | None:
    """The image re-encoded upright when its EXIF says to rotate it (the EXIF goes, so the
    rotation must be in the pixels); None when it is upright already."""
    if image.getexif().get(EXIF_ORIENTATION, 1) in (0, 1):
        return None
    rotated = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if image_format == "JPEG" else {}
    rotated.save(out, format=image_format, **options)
    return out.getvalue()


async def read_file(file: object, max_bytes: int) -> bytes:
    """The bytes of an uploaded file (Starlette's UploadFile), at most one past `max_bytes`
    (enough to refuse it)."""
    read = getattr(file, "read", None)
    if read is None:
        raise InvalidInput("`file` must be an uploaded file.", field="file")
    data = await read(max_bytes + 1)
    return bytes(data)


def read_upload(data: bytes, *, max_bytes: int, max_pixels: int, field: str) -> Picture:
    """The upload as a Picture; InvalidInput naming `field` when it is not an image we
    accept."""
    if not data:
        raise _refuse("The file is empty.", field)
    if len(data) > max_bytes:
        raise _refuse(f"The file is larger than {max_bytes} bytes.", field)
    image = _decoded(data, max_pixels, field)
    image_format = image.format or ""
    if image_format not in FORMATS:
        raise _refuse("The file is not a PNG, JPEG or WebP image.", field)
    stored = _upright(image, image_format) or data
    try:
        stored = strip_metadata(stored, image_format)
    except BrokenFile:
        raise _refuse(DAMAGED, field) from None
    width, height = _decoded(stored, max_pixels, field).size
    return Picture(
        key=original_key(stored, image_format),
        data=stored,
        image_format=image_format,
        content_type=FORMATS[image_format][1],
        width=width,
        height=height,
    )
