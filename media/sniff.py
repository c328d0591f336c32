"""Tell the image format from the leading bytes only: names and declared types are never trusted.

HEIF is accepted only when pillow-heif will open it AND this build can decode it. pillow-heif opens
files whose ftyp major brand is one of heic/heix/heim/heis/hevc/hevx/hevm/hevs/mif1/msf1; its
libheif decodes HEVC only (libde265), so the brand set (major plus compatible brands) must also name
an HEVC brand. That excludes AVIF (`avif`/`avis`), AVC-coded HEIF (`avci`) and JPEG-in-HEIF
(`jpeg`) even when they are labelled with the structural `mif1`/`msf1` brand.
"""

from __future__ import annotations

from media.errors import UnsupportedImage

JPEG = "jpeg"
PNG = "png"
WEBP = "webp"
HEIF = "heif"

CONTENT_TYPES = {
    JPEG: "image/jpeg",
    PNG: "image/png",
    WEBP: "image/webp",
    HEIF: "image/heif",
}
"""Content type of an original, by detected format."""

EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp", HEIF: "heif"}
"""File extension of an original, by detected format."""

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_WEBP_CHUNKS = (b"VP8 ", b"VP8L", b"VP8X")
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_OPENABLE_MAJOR_BRANDS = _HEVC_BRANDS | {b"mif1", b"msf1"}


def detect_format(data: bytes) -> str:
    """Name the format from magic bytes, so a renamed text, SVG, GIF or PDF is refused early."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(_PNG_MAGIC):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] in _WEBP_CHUNKS:
        return WEBP
    if _is_hevc_heif(data):
        return HEIF
    raise UnsupportedImage


def _is_hevc_heif(data: bytes) -> bool:
    """True when the leading ftyp box names brands pillow-heif opens and libde265 decodes."""
    if data[4:8] != b"ftyp":
        return False
    box_size = int.from_bytes(data[:4], "big")
    if box_size < 16 or box_size % 4 or box_size > len(data):
        return False
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, box_size, 4)}
    return major in _OPENABLE_MAJOR_BRANDS and bool(({major} | compatible) & _HEVC_BRANDS)
