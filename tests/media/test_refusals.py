"""Uploads that are not acceptable photos are refused with the right MediaError, and only that."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageFile, WebPImagePlugin

from media import (
    BrokenImage,
    FileTooLarge,
    ImageTooLarge,
    Limits,
    MediaError,
    ProcessedPhoto,
    TooManyPhotos,
    UnsupportedImage,
    check_photo_count,
    inspect_photo,
    process_photo,
)
from tests.media.builders import encoded, jpeg_bytes, png_chunks, sample_card
from tests.media.photos import photos_dir

HEIF_CARD = 64
"""HEIF test images are 64×64 so the encoder adds no crop box and ispe is the displayed size."""


def _heif(image: Image.Image) -> bytes:
    """The image encoded as HEIF by pillow-heif's x265 encoder."""
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=60)
    return buffer.getvalue()


def _patch_after(data: bytes, marker: bytes, offset: int, replacement: bytes) -> bytes:
    """Overwrite bytes at a fixed distance after the first occurrence of a marker."""
    at = data.index(marker) + offset
    return data[:at] + replacement + data[at + len(replacement) :]


def _png_header_bomb() -> bytes:
    """A 30000×30000 RGB PNG header with a few bytes of IDAT."""
    return png_chunks(30_000, 30_000, 8, 2, zlib.compress(b"\0" * 1000))


def _png_real_bomb() -> bytes:
    """A genuine 10000×10000 1-bit PNG of a few kilobytes: 100 megapixels when decoded."""
    return encoded(Image.new("1", (10_000, 10_000)), "PNG")


def _jpeg_header_bomb() -> bytes:
    """A small JPEG whose frame header claims 60000×60000."""
    return _patch_after(jpeg_bytes(), b"\xff\xc0", 5, struct.pack(">HH", 60_000, 60_000))


def _webp_header_bomb() -> bytes:
    """An extended WebP whose canvas claims 16383×16383."""
    webp = encoded(sample_card(), "WEBP", exif=b"Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0")
    size = (16_382).to_bytes(3, "little")
    return webp[:24] + size + size + webp[30:]


def _heif_header_bomb() -> bytes:
    """A HEIF whose ispe box claims 20000×20000."""
    heif = _heif(sample_card((HEIF_CARD, HEIF_CARD)))
    return _patch_after(heif, b"ispe", 8, struct.pack(">II", 20_000, 20_000))


@pytest.fixture
def no_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any pixel decode fail loudly, to prove a refusal happened before it."""

    def refuse(self: Image.Image) -> None:
        """Fail the test: a pixel decode was attempted."""
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", refuse)
    monkeypatch.setattr(pillow_heif.HeifImageFile, "load", refuse)


@pytest.mark.parametrize(
    "make",
    [_png_header_bomb, _png_real_bomb, _jpeg_header_bomb, _webp_header_bomb, _heif_header_bomb],
    ids=["png-header", "png-1bit-100mp", "jpeg-sof", "webp-vp8x", "heif-ispe"],
)
def test_refuses_decompression_bombs_before_decoding(make, no_pixel_decoding: None) -> None:
    """A header claiming more pixels than the limit is ImageTooLarge, and no pixel is decoded."""
    data = make()
    with pytest.raises(ImageTooLarge) as raised:
        process_photo(data)
    assert raised.value.limit == Limits().max_pixels
    assert raised.value.actual > raised.value.limit


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is a text file renamed to photo.jpg\n",
        b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
        b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        encoded(sample_card(), "GIF"),
        encoded(sample_card(), "BMP"),
        encoded(sample_card(), "TIFF"),
        b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf" + b"\0" * 64,
        b"\0" * 64,
    ],
    ids=["empty", "text", "html", "svg", "pdf", "gif", "bmp", "tiff", "avif", "zeros"],
)
def test_refuses_non_images_whatever_their_name(data: bytes) -> None:
    """Anything that is not JPEG, PNG, WebP or HEVC HEIF by its bytes is UnsupportedImage."""
    with pytest.raises(UnsupportedImage) as raised:
        process_photo(data)
    assert raised.value.code == "unsupported_media_type"


@pytest.mark.parametrize(
    "data",
    [jpeg_bytes(sample_card((400, 300)).effect_spread(5)), b"not even an image " * 200],
    ids=["jpeg", "non-image"],
)
def test_refuses_files_over_the_byte_limit_before_parsing(data: bytes) -> None:
    """More bytes than max_bytes is FileTooLarge, checked before the format is even sniffed."""
    limits = Limits(max_bytes=1000)
    with pytest.raises(FileTooLarge) as raised:
        process_photo(data, limits)
    assert (raised.value.limit, raised.value.actual) == (1000, len(data))


def _cut(data: bytes, fraction: float) -> bytes:
    """The first part of a file, as an interrupted upload leaves it."""
    return data[: int(len(data) * fraction)]


def _real(relative: str) -> bytes:
    """A shared real photo's bytes."""
    return (photos_dir() / relative).read_bytes()


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff" + random.Random(7).randbytes(4000),
        b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>",
        b"\x89PNG\r\n\x1a\n" + random.Random(8).randbytes(4000),
        b"RIFF\0\x10\0\0WEBPVP8 " + random.Random(9).randbytes(4000),
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + random.Random(10).randbytes(4000),
        _cut(_real("orientation/landscape_1.jpg"), 0.5),
        _cut(_real("orientation/landscape_1.jpg"), 0.01),
        _cut(encoded(sample_card((400, 300)).effect_spread(5), "PNG"), 0.5),
        _cut(encoded(sample_card((400, 300)).effect_spread(5), "WEBP"), 0.5),
        _cut(_real("mobile/HMD_Nokia_8.3_5G.heif"), 0.5),
        _cut(_real("mobile/HMD_Nokia_8.3_5G.heif"), 0.001),
    ],
    ids=["jpeg-magic-garbage", "jpeg-magic-html", "png-magic-garbage", "webp-magic-garbage",
         "heif-magic-garbage", "jpeg-cut-in-scan", "jpeg-cut-in-headers", "png-cut",
         "webp-cut", "heif-cut-in-mdat", "heif-cut-in-meta"],
)
def test_refuses_polyglots_and_truncated_files_as_broken(data: bytes) -> None:
    """Image magic followed by garbage, or a file cut short, is BrokenImage."""
    with pytest.raises(BrokenImage) as raised:
        process_photo(data)
    assert raised.value.code == "broken_image"


def test_truncated_jpeg_is_not_rescued_globally() -> None:
    """Pillow's LOAD_TRUNCATED_IMAGES stays off: the pipeline never fills missing data itself."""
    with pytest.raises(BrokenImage):
        process_photo(_cut(_real("orientation/landscape_1.jpg"), 0.5))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_shared_corrupted_jpeg_gives_a_derivative(shared_photos: Path) -> None:
    """invalid/corrupted.jpg is accepted: its scan is short but ends with an EOI marker."""
    # libjpeg fills the missing bottom 24 of 2736 rows with grey and the photo stays usable.
    # A JPEG whose data really stops early (no EOI) is still BrokenImage, as tested above.
    photo = process_photo((shared_photos / "invalid" / "corrupted.jpg").read_bytes())
    assert (photo.display.width, photo.display.height) == (1600, 1200)


_FUZZ_SOURCES = {
    "jpeg": lambda: jpeg_bytes(sample_card((96, 64))),
    "progressive-jpeg": lambda: jpeg_bytes(sample_card((96, 64)), progressive=True),
    "png": lambda: encoded(sample_card((96, 64)), "PNG"),
    "palette-png": lambda: encoded(sample_card((96, 64)).convert("P"), "PNG", transparency=0),
    "webp": lambda: encoded(sample_card((96, 64)), "WEBP"),
    "lossless-webp": lambda: encoded(sample_card((96, 64)), "WEBP", lossless=True),
    "heif": lambda: _heif(sample_card((HEIF_CARD, HEIF_CARD))),
    "gps-jpeg": lambda: _real("gps/DSCN0010.jpg"),
}


def _mutated(source: bytes, seed: int) -> bytes:
    """Deterministic damage: flipped bytes, a cut, an insertion or a header scramble."""
    rng = random.Random(seed)
    data = bytearray(source)
    operation = seed % 4
    if operation == 0:
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif operation == 1:
        del data[rng.randrange(1, len(data)) :]
    elif operation == 2:
        at = rng.randrange(len(data))
        data[at:at] = rng.randbytes(rng.randint(1, 64))
    else:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(min(len(data), 400))] = rng.randrange(256)
    return bytes(data)


@pytest.mark.parametrize("source", sorted(_FUZZ_SOURCES))
def test_damaged_bytes_never_raise_anything_but_media_errors(source: str) -> None:
    """Any damage to any supported format ends in a photo or a MediaError, never another type."""
    original = _FUZZ_SOURCES[source]()
    for seed in range(60):
        try:
            result = process_photo(_mutated(original, seed), Limits(max_pixels=5_000_000))
        except MediaError:
            continue
        assert isinstance(result, ProcessedPhoto)


@pytest.mark.parametrize(("count", "allowed"), [(0, True), (5, True), (6, False), (50, False)])
def test_photo_count_is_limited(count: int, allowed: bool) -> None:
    """A report may carry up to max_photos photos; more is TooManyPhotos with the numbers."""
    if allowed:
        check_photo_count(count, Limits())
        return
    with pytest.raises(TooManyPhotos) as raised:
        check_photo_count(count, Limits())
    assert (raised.value.limit, raised.value.actual) == (5, count)


def test_a_cut_png_is_refused_while_inspecting() -> None:
    """A PNG may keep its EXIF after the pixels, so inspecting one decodes it: a cut-off PNG is
    refused before the report's database work starts, not after."""
    with pytest.raises(BrokenImage):
        inspect_photo(_cut(encoded(sample_card((400, 300)).effect_spread(5), "PNG"), 0.5))
