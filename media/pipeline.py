"""Turn an uploaded photo's bytes into checked, metadata-free derivatives plus what EXIF says.

Order matters for safety and speed: the byte count is checked before anything is parsed, the
format is decided by magic bytes, the pixel count is checked from the header before any pixel is
decoded, and only then is the image decoded, at reduced scale where the format allows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from media.decode import decoding, open_image
from media.derive import Derivative, decode_reduced, fit, make_derivatives
from media.errors import FileTooLarge, TooManyPhotos
from media.exif import PhotoMetadata, read_metadata
from media.sniff import CONTENT_TYPES, detect_format

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one upload may be: bytes, pixels, photos per report, and the derivative sizes."""

    max_bytes: int = 15 * MIB
    max_pixels: int = 50_000_000
    max_photos: int = 5
    display_edge: int = 1600
    thumb_edge: int = 320


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ProcessedPhoto:
    """An accepted photo: the original kept private, two public derivatives, and its metadata."""

    sha256: str
    format: str
    content_type: str
    width: int
    """Of the upright original: swapped for EXIF orientations 5 to 8."""
    height: int
    metadata: PhotoMetadata
    original: bytes = field(repr=False)
    display: Derivative
    thumbnail: Derivative


def process_photo(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ProcessedPhoto:
    """Check and reduce one upload; any bad input raises a MediaError subclass and nothing else."""
    if len(data) > limits.max_bytes:
        raise FileTooLarge(
            f"The photo has {len(data)} bytes; at most {limits.max_bytes} are accepted.",
            limit=limits.max_bytes,
            actual=len(data),
        )
    fmt = detect_format(data)
    image = open_image(data, fmt, limits.max_pixels)
    try:
        with decoding():
            stored_size = image.size
            display_size = fit(stored_size, limits.display_edge)
            decode_reduced(image, display_size)
            metadata = read_metadata(image)
            display, thumbnail = make_derivatives(
                image, display_size, metadata.orientation, limits.thumb_edge
            )
    finally:
        image.close()
    width, height = stored_size
    if metadata.orientation >= 5:
        width, height = height, width
    return ProcessedPhoto(
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        content_type=CONTENT_TYPES[fmt],
        width=width,
        height=height,
        metadata=metadata,
        original=data,
        display=display,
        thumbnail=thumbnail,
    )


def check_photo_count(count: int, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a report with more photos than allowed, before any of them is processed."""
    if count > limits.max_photos:
        raise TooManyPhotos(
            f"A report may carry at most {limits.max_photos} photos; {count} were sent.",
            limit=limits.max_photos,
            actual=count,
        )
