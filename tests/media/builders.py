"""Small images and EXIF blocks built in the tests, byte by byte where Pillow would refuse."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

from PIL import Image

Entry = tuple[int, int, int, bytes]
"""An IFD entry: tag, TIFF type, value count, raw little-endian value bytes."""

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
METADATA_MARKERS = (b"Exif", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"\xff\xfe")
"""Byte strings that betray EXIF, XMP, an ICC profile or a JPEG comment (COM) in a JPEG."""


def ascii_(tag: int, text: str | bytes) -> Entry:
    """An ASCII entry, NUL-terminated as EXIF writes it."""
    raw = (text.encode() if isinstance(text, str) else text) + b"\0"
    return tag, 2, len(raw), raw


def rational(tag: int, *pairs: tuple[int, int]) -> Entry:
    """A RATIONAL entry from (numerator, denominator) pairs, zero denominators allowed."""
    return tag, 5, len(pairs), b"".join(struct.pack("<II", n, d) for n, d in pairs)


def short(tag: int, *values: int) -> Entry:
    """A SHORT entry."""
    return tag, 3, len(values), b"".join(struct.pack("<H", v) for v in values)


def byte(tag: int, *values: int) -> Entry:
    """A BYTE entry."""
    return tag, 1, len(values), bytes(values)


def tiff_exif(
    primary: Sequence[Entry] = (),
    gps: Sequence[Entry] = (),
    details: Sequence[Entry] = (),
) -> bytes:
    """An 'Exif\\0\\0' APP1 payload with IFD0 and optional GPS and Exif sub-IFDs."""
    pointers = [(GPS_IFD, gps), (EXIF_IFD, details)]
    head = [(tag, 4, 1, b"\0\0\0\0") for tag, entries in pointers if entries]
    ifd0_length = len(_ifd([*primary, *head], 8))
    offset = 8 + ifd0_length
    sub_ifds = b""
    links = []
    for tag, entries in pointers:
        if entries:
            links.append((tag, 4, 1, struct.pack("<I", offset + len(sub_ifds))))
            sub_ifds += _ifd(entries, offset + len(sub_ifds))
    ifd0 = _ifd([*primary, *links], 8)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd0 + sub_ifds


def _ifd(entries: Sequence[Entry], start: int) -> bytes:
    """One IFD at offset `start`, its out-of-line values right after it."""
    entries = sorted(entries)
    data_offset = start + 2 + 12 * len(entries) + 4
    table = struct.pack("<H", len(entries))
    data = b""
    for tag, kind, count, raw in entries:
        if len(raw) <= 4:
            value = raw.ljust(4, b"\0")
        else:
            value = struct.pack("<I", data_offset + len(data))
            data += raw + (b"\0" if len(raw) % 2 else b"")
        table += struct.pack("<HHI", tag, kind, count) + value
    return table + b"\0\0\0\0" + data


def jpeg_bytes(
    image: Image.Image | None = None,
    *,
    exif: bytes = b"",
    quality: int = 90,
    **params: object,
) -> bytes:
    """A JPEG of `image` (a 64×48 test card by default) with the given EXIF block."""
    buffer = io.BytesIO()
    (image or sample_card()).save(buffer, "JPEG", quality=quality, exif=exif, **params)
    return buffer.getvalue()


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    """The image saved in `fmt` with Pillow's encoder."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def sample_card(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """An asymmetric picture: red top-left quarter, blue bottom, grey elsewhere."""
    width, height = size
    card = Image.new("RGB", size, (128, 128, 128))
    card.paste((220, 30, 30), (0, 0, width // 2, height // 2))
    card.paste((30, 30, 220), (0, height * 3 // 4, width, height))
    return card


def png_chunks(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    """A PNG from a header and raw IDAT bytes, so a header can claim any size."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
