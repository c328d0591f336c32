"""Turn an uploaded photo's bytes into checked, metadata-free derivatives plus what EXIF says.

Order matters for safety and speed: the byte count is checked before anything is parsed, the
format is decided by magic bytes, the pixel count is checked from the header before any pixel is
decoded, and only then is the image decoded, at reduced scale where the format allows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields

from PIL import ImageFile

from media.decode import decoding, open_image
from media.derive import Derivative, decode_reduced, fit, make_derivatives
from media.errors import FileTooLarge, TooManyPhotos
from media.exif import PhotoMetadata, read_metadata
from media.sniff import CONTENT_TYPES, PNG, detect_format

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
class PhotoFacts:
    """What a photo's header says, known before any pixel is decoded: enough for the report's
    row (hash, size, keys, EXIF position and time), so the database work need not wait for the
    derivatives."""

    sha256: str
    format: str
    content_type: str
    width: int
    """Of the upright original: swapped for EXIF orientations 5 to 8."""
    height: int
    metadata: PhotoMetadata
    original: bytes = field(repr=False)


@dataclass(frozen=True)
class ProcessedPhoto(PhotoFacts):
    """An accepted photo: the original kept private, two public derivatives, and its metadata."""

    display: Derivative = field(kw_only=True)
    thumbnail: Derivative = field(kw_only=True)


class InspectedPhoto:
    """A photo whose header has been checked and read, its pixels not yet decoded.

    Holds the opened image until `render` (or `close`) so the header is parsed once.
    """

    def __init__(self, facts: PhotoFacts, image: ImageFile.ImageFile, limits: Limits) -> None:
        """Keep the facts and the image that `inspect_photo` opened."""
        self.facts = facts
        self._image: ImageFile.ImageFile | None = image
        self._limits = limits

    def render(self) -> ProcessedPhoto:
        """Decode at reduced scale and make the derivatives: the slow part, once."""
        image = self._image
        if image is None:
            raise RuntimeError("this photo was already rendered or closed")
        facts, limits = self.facts, self._limits
        try:
            display_size = fit(image.size, limits.display_edge)  # before draft shrinks it
            with decoding():
                decode_reduced(image, display_size)
                display, thumbnail = make_derivatives(
                    image, display_size, facts.metadata.orientation, limits.thumb_edge)
        finally:
            self.close()
        return ProcessedPhoto(**{f.name: getattr(facts, f.name) for f in fields(PhotoFacts)},
                              display=display, thumbnail=thumbnail)

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        if self._image is not None:
            self._image.close()
            self._image = None


METADATA_AFTER_PIXELS = frozenset({PNG})
"""Formats that may store EXIF after the image data (PNG's eXIf chunk): Pillow finds it only by
decoding, so for these the pixels are decoded while inspecting."""


def inspect_photo(data: bytes, limits: Limits = DEFAULT_LIMITS) -> InspectedPhoto:
    """Check one upload's bytes and header and read its metadata; refusals are MediaErrors."""
    if len(data) > limits.max_bytes:
        raise FileTooLarge(
            f"The photo has {len(data)} bytes; at most {limits.max_bytes} are accepted.",
            limit=limits.max_bytes,
            actual=len(data),
        )
    fmt = detect_format(data)
    image = open_image(data, fmt, limits.max_pixels)
    try:
        stored_size = image.size
        if fmt in METADATA_AFTER_PIXELS:
            with decoding():
                decode_reduced(image, fit(stored_size, limits.display_edge))
        metadata = read_metadata(image)
    except BaseException:
        image.close()
        raise
    width, height = stored_size
    if metadata.orientation >= 5:
        width, height = height, width
    facts = PhotoFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        content_type=CONTENT_TYPES[fmt],
        width=width,
        height=height,
        metadata=metadata,
        original=data,
    )
    return InspectedPhoto(facts, image, limits)


def process_photo(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ProcessedPhoto:
    """Check and reduce one upload; any bad input raises a MediaError subclass and nothing else."""
    return inspect_photo(data, limits).render()


def check_photo_count(count: int, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a report with more photos than allowed, before any of them is processed."""
    if count > limits.max_photos:
        raise TooManyPhotos(
            f"A report may carry at most {limits.max_photos} photos; {count} were sent.",
            limit=limits.max_photos,
            actual=count,
        )
