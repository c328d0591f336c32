"""Checks on derivative bytes, shared by the tests: what a metadata-free JPEG looks like."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.media.builders import METADATA_MARKERS


def metadata_leaks(data: bytes) -> list[str]:
    """Every trace of EXIF, GPS, XMP, ICC or comments in a JPEG; empty when there is none."""
    leaks = [repr(marker) for marker in METADATA_MARKERS if marker in data]
    with Image.open(io.BytesIO(data)) as image:
        if image.format != "JPEG" or image.mode != "RGB":
            leaks.append(f"{image.format} {image.mode}, not an RGB JPEG")
        if image.getexif():
            leaks.append("getexif() is not empty")
        leaks += [f"info[{key!r}]" for key in ("exif", "xmp", "icc_profile", "comment")
                  if key in image.info]
        leaks += [f"segment {marker}" for marker, _ in image.applist if marker != "APP0"]
    return leaks


def grey_grid(data: bytes | Image.Image, size: tuple[int, int] = (48, 48)) -> np.ndarray:
    """A small greyscale grid of an image, for comparing how two images look."""
    image = data if isinstance(data, Image.Image) else Image.open(io.BytesIO(data))
    return np.asarray(image.convert("L").resize(size, Image.Resampling.BOX), dtype=float)


def mean_abs_diff(first: np.ndarray, second: np.ndarray) -> float:
    """Mean absolute difference in grey levels (0–255)."""
    return float(np.abs(first - second).mean())
