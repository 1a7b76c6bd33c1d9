"""Metadata removed from image files without touching their pixels: EXIF, XMP, IPTC and
text (camera serial numbers, GPS positions, names). Pillow can only drop metadata by
re-encoding, which changes every byte of a JPEG; these walk the containers instead."""

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Text, EXIF and timestamps; colour (iCCP, gAMA, ...) stays.
PNG_DROPPED = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"})
# APP1 (EXIF, XMP), APP13 (Photoshop/IPTC) and comments; JFIF, ICC and Adobe stay.
JPEG_DROPPED = frozenset({0xE1, 0xED, 0xFE})
# Markers that stand alone, without a length.
JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
WEBP_DROPPED = frozenset({b"EXIF", b"XMP "})
WEBP_EXIF_AND_XMP_FLAGS = 0x08 | 0x04


class BrokenFile(ValueError):
    """The container does not hold together (a chunk or segment runs past the end)."""


def strip_png(data: bytes) -> bytes:
    """The PNG without its text, EXIF and time chunks."""
    kept = [PNG_SIGNATURE]
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        if offset + 12 > len(data):
            raise BrokenFile("truncated PNG chunk")
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        end = offset + 12 + length
        if end > len(data):
            raise BrokenFile("truncated PNG chunk")
        kind = data[offset + 4 : offset + 8]
        if kind not in PNG_DROPPED:
            kept.append(data[offset:end])
        offset = end
        if kind == b"IEND":
            break
    return b"".join(kept)


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG without its EXIF, XMP, IPTC and comment segments; the scan is untouched."""
    kept = [data[:2]]
    offset = 2
    while offset < len(data):
        if data[offset] != 0xFF or offset + 2 > len(data):
            raise BrokenFile("JPEG marker expected")
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in JPEG_STANDALONE:
            kept.append(data[offset : offset + 2])
            offset += 2
            continue
        if marker == 0xD9:  # end of image
            kept.append(data[offset : offset + 2])
            break
        if offset + 4 > len(data):
            raise BrokenFile("truncated JPEG segment")
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        end = offset + 2 + length
        if length < 2 or end > len(data):
            raise BrokenFile("truncated JPEG segment")
        if marker == 0xDA:  # start of scan: entropy-coded data and the rest, as they are
            kept.append(data[offset:])
            break
        if marker not in JPEG_DROPPED:
            kept.append(data[offset:end])
        offset = end
    return b"".join(kept)


def strip_webp(data: bytes) -> bytes:
    """The WebP without its EXIF and XMP chunks (and their flags in VP8X)."""
    chunks = []
    offset = 12
    while offset < len(data):
        if offset + 8 > len(data):
            raise BrokenFile("truncated WebP chunk")
        kind = data[offset : offset + 4]
        (length,) = struct.unpack("<I", data[offset + 4 : offset + 8])
        end = offset + 8 + length + (length & 1)
        if offset + 8 + length > len(data):
            raise BrokenFile("truncated WebP chunk")
        chunk = data[offset:end]
        if kind == b"VP8X" and length >= 1:
            flags = chunk[8] & ~WEBP_EXIF_AND_XMP_FLAGS
            chunk = chunk[:8] + bytes([flags]) + chunk[9:]
        if kind not in WEBP_DROPPED:
            chunks.append(chunk)
        offset = end
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


STRIPPERS = {"PNG": strip_png, "JPEG": strip_jpeg, "WEBP": strip_webp}


def strip_metadata(data: bytes, image_format: str) -> bytes:
    """`data` without its metadata, by Pillow's name of its format."""
    return STRIPPERS[image_format](data)
