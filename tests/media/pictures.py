"""Image files for the media tests, made with Pillow."""

import io

from PIL import Image

CAMERA = {0x010F: "Acme Camera Co", 0x0110: "Model 7", 0xA431: "SERIAL-0042"}


def exif_bytes() -> bytes:
    """EXIF naming a camera and its serial number (what uploads must not keep)."""
    exif = Image.Exif()
    for tag, value in CAMERA.items():
        exif[tag] = value
    return exif.tobytes()


def picture(image_format: str, size: tuple[int, int] = (300, 200), **options: object) -> bytes:
    """A picture of `size` in `image_format` (PNG, JPEG, WEBP), saved with `options`."""
    image = Image.new("RGB", size, (200, 40, 40))
    for x in range(0, size[0], 7):  # some detail, so that renditions differ from a fill
        image.putpixel((x, x % size[1]), (20, 20, 220))
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    """Width and height of an encoded image."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size
