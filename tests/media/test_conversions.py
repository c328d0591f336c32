"""Every accepted mode becomes an 8-bit sRGB JPEG of the right size, transparency on white."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageCms

from media import process_photo
from tests.media.builders import encoded, jpeg_bytes, png_chunks

Colour = tuple[int, int, int]
SIZE = (96, 64)
LEFT, RIGHT = (20, 32), (76, 32)
"""Sample points in the middle of the left and right halves of every test image."""


def _halves(mode: str, left: object, right: object) -> Image.Image:
    """A 96×64 image in `mode` whose left and right halves have the given values."""
    image = Image.new(mode, SIZE, left)
    image.paste(right, (SIZE[0] // 2, 0, SIZE[0], SIZE[1]))
    return image


def _sixteen_bit_rgb_png() -> bytes:
    """A 16-bit-per-channel RGB PNG: left (0x8000, 0x4000, 0xFFFF), right (0xFFFF, 0, 0)."""
    left = struct.pack(">HHH", 0x8000, 0x4000, 0xFFFF)
    right = struct.pack(">HHH", 0xFFFF, 0, 0)
    row = b"\0" + left * (SIZE[0] // 2) + right * (SIZE[0] // 2)
    return png_chunks(SIZE[0], SIZE[1], 16, 2, zlib.compress(row * SIZE[1]))


def _palette_with_transparent_left() -> bytes:
    """A palette PNG whose index 0 (left half) is transparent and index 1 (right) is green."""
    image = _halves("P", 0, 1)
    image.putpalette([0, 0, 0, 0, 200, 0] + [0, 0, 0] * 254)
    return encoded(image, "PNG", transparency=0)


def _heif_rgba() -> bytes:
    """A HEIF with an alpha plane: transparent left, opaque blue right."""
    buffer = io.BytesIO()
    image = _halves("RGBA", (0, 0, 0, 0), (0, 0, 200, 255))
    pillow_heif.from_pillow(image).save(buffer, quality=95)
    return buffer.getvalue()


CASES: dict[str, tuple[Callable[[], bytes], Colour, Colour]] = {
    "rgba-png": (lambda: encoded(_halves("RGBA", (0, 0, 0, 0), (200, 0, 0, 255)), "PNG"),
                 (255, 255, 255), (200, 0, 0)),
    "half-transparent-png": (
        lambda: encoded(_halves("RGBA", (0, 0, 0, 128), (0, 0, 0, 255)), "PNG"),
        (127, 127, 127), (0, 0, 0)),
    "la-png": (lambda: encoded(_halves("LA", (0, 0), (60, 255)), "PNG"),
               (255, 255, 255), (60, 60, 60)),
    "palette-png": (lambda: encoded(_halves("RGB", (200, 0, 0), (0, 0, 200)).convert("P"), "PNG"),
                    (200, 0, 0), (0, 0, 200)),
    "palette-transparency-png": (_palette_with_transparent_left, (255, 255, 255), (0, 200, 0)),
    "1-bit-png": (lambda: encoded(_halves("1", 0, 1), "PNG"), (0, 0, 0), (255, 255, 255)),
    "16-bit-grey-png": (lambda: encoded(_halves("I;16", 0x8000, 0xFFFF), "PNG"),
                        (128, 128, 128), (255, 255, 255)),
    "16-bit-rgb-png": (_sixteen_bit_rgb_png, (128, 64, 255), (255, 0, 0)),
    "rgba-webp": (lambda: encoded(_halves("RGBA", (0, 0, 0, 0), (0, 200, 0, 255)), "WEBP",
                                  lossless=True), (255, 255, 255), (0, 200, 0)),
    "lossy-webp": (lambda: encoded(_halves("RGB", (200, 0, 0), (0, 0, 200)), "WEBP", quality=95),
                   (200, 0, 0), (0, 0, 200)),
    "cmyk-jpeg": (lambda: jpeg_bytes(_halves("CMYK", (0, 255, 255, 0), (0, 0, 0, 255)),
                                     quality=95), (255, 0, 0), (0, 0, 0)),
    "grey-jpeg": (lambda: jpeg_bytes(_halves("L", 40, 220), quality=95),
                  (40, 40, 40), (220, 220, 220)),
    "rgba-heif": (_heif_rgba, (255, 255, 255), (0, 0, 200)),
}
TOLERANCE = 12
"""Grey levels of JPEG/WebP/HEIF noise allowed in a flat area."""


def _pixel(data: bytes, point: tuple[int, int]) -> Colour:
    """One pixel of a JPEG derivative."""
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB"
        return image.getpixel(point)


def _close(actual: Colour, expected: Colour) -> bool:
    """Every channel within TOLERANCE."""
    return all(abs(a - e) <= TOLERANCE for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize("case", sorted(CASES))
def test_modes_convert_to_rgb_with_transparency_on_white(case: str) -> None:
    """Palette, alpha, 1-bit, 16-bit, CMYK and grey inputs give the right RGB colours."""
    make, left, right = CASES[case]
    display = process_photo(make()).display
    assert (display.width, display.height) == SIZE
    assert _close(_pixel(display.data, LEFT), left), _pixel(display.data, LEFT)
    assert _close(_pixel(display.data, RIGHT), right), _pixel(display.data, RIGHT)


def test_icc_profile_is_converted_to_srgb(shared_photos: Path) -> None:
    """Pixels tagged with a non-sRGB profile are converted to sRGB, and the profile is dropped."""
    with Image.open(shared_photos / "orientation" / "landscape_2.jpg") as tagged:
        generic_rgb = tagged.info["icc_profile"]
    source = (60, 120, 200)
    data = jpeg_bytes(Image.new("RGB", SIZE, source), quality=100, icc_profile=generic_rgb)
    expected = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), source),
        ImageCms.ImageCmsProfile(io.BytesIO(generic_rgb)),
        ImageCms.createProfile("sRGB"),
    ).getpixel((0, 0))
    display = process_photo(data).display
    assert _close(_pixel(display.data, LEFT), expected)
    assert not _close(expected, source)
    assert b"ICC_PROFILE" not in display.data


def test_unreadable_icc_profile_is_ignored() -> None:
    """A garbage ICC profile does not refuse the photo: the pixels are taken as sRGB."""
    data = jpeg_bytes(Image.new("RGB", SIZE, (60, 120, 200)), quality=100, icc_profile=b"junk" * 40)
    assert _close(_pixel(process_photo(data).display.data, LEFT), (60, 120, 200))


@pytest.mark.parametrize(
    ("size", "display", "thumbnail"),
    [
        ((4000, 3000), (1600, 1200), (320, 240)),
        ((1000, 4000), (400, 1600), (80, 320)),
        ((1600, 1200), (1600, 1200), (320, 240)),
        ((200, 100), (200, 100), (200, 100)),
        ((3000, 7), (1600, 4), (320, 1)),
    ],
)
def test_derivatives_fit_their_long_edge_and_never_upscale(
    size: tuple[int, int], display: tuple[int, int], thumbnail: tuple[int, int]
) -> None:
    """Display ≤ 1600 px and thumbnail ≤ 320 px on the long edge, aspect kept, never enlarged."""
    photo = process_photo(jpeg_bytes(Image.new("RGB", size, (90, 140, 60))))
    assert (photo.display.width, photo.display.height) == display
    assert (photo.thumbnail.width, photo.thumbnail.height) == thumbnail
    with Image.open(io.BytesIO(photo.thumbnail.data)) as decoded:
        assert decoded.size == thumbnail
