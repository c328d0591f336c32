"""Make the upright display and thumbnail JPEGs with as little pixel work as possible.

This runs on every submission on a 2-core server, so: a JPEG is decoded at the smallest DCT scale
that still covers the display size (draft mode), resized once, colour-converted and rotated only
at display size, and the thumbnail is made from the display image, never from the original.
Derivatives carry no metadata at all: no EXIF, GPS, XMP, comment or ICC profile.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

from PIL import Image

from media.colour import prepare_for_resize, to_srgb

RESAMPLE = Image.Resampling.BILINEAR
"""Antialiased (Pillow widens the kernel when shrinking); a third cheaper than Hamming and
half of bicubic, while the DCT scaling or box reduction before it has done most of the work."""
REDUCING_GAP = 1.0
"""Box-average by the whole factor first, leaving less than 2× for the filter: what draft does
for JPEG, done the same way for PNG, WebP and HEIF, and for the thumbnail (1600 → 320 is 5×)."""
DISPLAY_QUALITY = 82
THUMBNAIL_QUALITY = 75
JPEG_CONTENT_TYPE = "image/jpeg"

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Derivative:
    """One public rendition of a photo: JPEG bytes without metadata, and their size and hash."""

    data: bytes = field(repr=False)
    width: int
    height: int
    sha256: str
    content_type: str = JPEG_CONTENT_TYPE


def fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """The size with its long edge brought down to `edge`, keeping the aspect; never larger."""
    width, height = size
    if max(width, height) <= edge:
        return width, height
    if width >= height:
        return edge, max(1, round(height * edge / width))
    return max(1, round(width * edge / height)), edge


def decode_reduced(image: Image.Image, size: tuple[int, int]) -> None:
    """Decode no more pixels than `size` needs: JPEG scales in the DCT (1/2, 1/4, 1/8)."""
    # `size` has the image's aspect: Pillow keeps a scale only if both sides stay >= the request,
    # so a square (1600, 1600) request would never reduce a 4:3 photo. For HEIF, pillow-heif may
    # pick an embedded thumbnail that is a scaled copy at least this large; PNG and WebP have no
    # reduced decoding and are decoded in full.
    image.draft("RGB", size)
    image.load()


def make_derivatives(
    image: Image.Image,
    size: tuple[int, int],
    orientation: int,
    thumb_edge: int,
) -> tuple[Derivative, Derivative]:
    """Display image at `size` (in stored orientation), made upright, and a thumbnail from it."""
    icc_profile = image.info.get("icc_profile")
    prepared = prepare_for_resize(image)
    resized = _resize(prepared, size)
    display = orient(to_srgb(resized, icc_profile), orientation)
    thumbnail = _resize(display, fit(display.size, thumb_edge))
    return encode(display, DISPLAY_QUALITY), encode(thumbnail, THUMBNAIL_QUALITY)


def orient(image: Image.Image, orientation: int) -> Image.Image:
    """Apply an EXIF orientation (2..8) by a lossless transpose; 1 and unknown values are upright."""
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image


def encode(image: Image.Image, quality: int) -> Derivative:
    """Baseline JPEG with nothing but pixels: metadata is never passed to the encoder."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, exif=b"", comment=b"")
    data = buffer.getvalue()
    return Derivative(
        data=data,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """One resize to `size`, skipped when the image already has it (never upscales by design)."""
    if image.size == size:
        return image
    return image.resize(size, RESAMPLE, reducing_gap=REDUCING_GAP)
