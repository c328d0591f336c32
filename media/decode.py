"""Open untrusted bytes with only the plugin of the sniffed format, and refuse bombs from the header.

The plugin class is built directly instead of going through `Image.open`, so no other Pillow plugin
gets a chance to parse the bytes, Pillow's global plugin registry and `Image.MAX_IMAGE_PIXELS` are
left alone, and the pixel limit is ours (`Image.open`'s decompression-bomb warning never fires).
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pillow_heif
from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from media.errors import BrokenImage, ImageTooLarge
from media.headers import boxes_complete, webp_canvas_size
from media.sniff import HEIF, JPEG, PNG, WEBP

DECODE_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    RuntimeError,
    ArithmeticError,
)
"""What Pillow and pillow-heif raise on damaged input; all of it means the photo is broken."""

_PLUGINS: dict[str, type[ImageFile.ImageFile]] = {
    JPEG: JpegImagePlugin.JpegImageFile,
    PNG: PngImagePlugin.PngImageFile,
    WEBP: WebPImagePlugin.WebPImageFile,
    HEIF: pillow_heif.HeifImageFile,
}
_NOISY_MODULES = r"(PIL|pillow_heif)(\.|$)"


@contextmanager
def quiet_decoder_warnings() -> Iterator[None]:
    """Silence decoder warnings about odd input (corrupt EXIF): they are the file's fault, not ours."""
    # Under `-W error` they would abort decoding. Only UserWarning and RuntimeWarning raised inside
    # PIL and pillow_heif are ignored. On Python 3.11 `catch_warnings` swaps a process-wide list,
    # so overlapping threads may briefly share, or at worst keep, these two narrow filters.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=_NOISY_MODULES)
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=_NOISY_MODULES)
        yield


@contextmanager
def decoding() -> Iterator[None]:
    """Turn every decoder failure into a MediaError, with decoder warnings kept quiet."""
    with quiet_decoder_warnings():
        try:
            yield
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge(str(exc)) from exc
        except DECODE_FAILURES as exc:
            raise BrokenImage from exc


def open_image(data: bytes, fmt: str, max_pixels: int) -> ImageFile.ImageFile:
    """Parse only the header and refuse images over `max_pixels` before any pixel is decoded."""
    if fmt == WEBP:
        # Pillow's WebP plugin allocates the whole canvas while opening, so check its header first.
        _check_pixels(webp_canvas_size(data), max_pixels)
    if fmt == HEIF and not boxes_complete(data):
        # libheif fills the tiles of a cut-off file with flat colour instead of failing.
        raise BrokenImage("The photo file is incomplete (cut off during upload?).")
    with decoding():
        image = _PLUGINS[fmt](io.BytesIO(data))
    try:
        _check_pixels(image.size, max_pixels)
    except ImageTooLarge:
        image.close()
        raise
    return image


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Raise ImageTooLarge when width × height is over the limit."""
    pixels = size[0] * size[1]
    if pixels > max_pixels:
        raise ImageTooLarge(
            f"The photo has {pixels} pixels; at most {max_pixels} are accepted.",
            limit=max_pixels,
            actual=pixels,
        )
