"""Formats are told by magic bytes only, and HEIF only when this build can decode it."""

from __future__ import annotations

import pytest

from media import UnsupportedImage, detect_format


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    """An ftyp box followed by a little padding, as at the start of an ISO-BMFF file."""
    body = b"ftyp" + major + b"\0\0\0\0" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body + b"\0" * 16


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0\0\x10JFIF", "jpeg"),
        (b"\xff\xd8\xff\xe1\0\x10Exif", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "png"),
        (b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0", "webp"),
        (b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0", "webp"),
        (b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0", "webp"),
        (_ftyp(b"heic", b"mif1", b"heic"), "heif"),
        (_ftyp(b"heix", b"mif1"), "heif"),
        (_ftyp(b"mif1", b"heic"), "heif"),
        (_ftyp(b"msf1", b"hevc"), "heif"),
    ],
    ids=["jfif", "exif-jpeg", "png", "webp-lossy", "webp-lossless", "webp-extended",
         "heic", "heix", "mif1+heic", "msf1+hevc"],
)
def test_detects_format_from_magic_bytes(data: bytes, expected: str) -> None:
    """The leading bytes alone name the format."""
    assert detect_format(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        _ftyp(b"avif", b"mif1", b"avif"),
        _ftyp(b"mif1", b"avif", b"miaf"),
        _ftyp(b"mif1", b"avci"),
        _ftyp(b"mif1"),
        _ftyp(b"isom", b"heic"),
        _ftyp(b"qt  "),
        b"\0\0\0\x08ftypheic",
        b"\0\0\0\x18ftypheic\0\0\0\0mif1",
    ],
    ids=["avif", "mif1-avif", "mif1-avc", "mif1-alone", "mp4-naming-heic", "quicktime",
         "ftyp-too-short", "ftyp-longer-than-file"],
)
def test_refuses_heif_family_files_this_build_cannot_decode(data: bytes) -> None:
    """AVIF, AVC-coded HEIF, videos and malformed ftyp boxes are not HEVC HEIF."""
    with pytest.raises(UnsupportedImage):
        detect_format(data)
