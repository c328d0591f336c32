"""Bring every decoded mode to plain 8-bit sRGB, the only thing a derivative JPEG should hold.

ICC decision: an embedded profile that is not sRGB (Display P3 from iPhones, Adobe RGB, a CMYK
press profile, Apple's gamma-1.8 Generic RGB) is converted to sRGB with LittleCMS, and the
derivatives then embed no profile at all: browsers show an untagged JPEG as sRGB, and a profile
is one more block of bytes copied from the citizen's file. A profile LittleCMS cannot read, or
one that does not match the pixel mode, is ignored and the pixels are taken as sRGB. HEIF colour
from an nclx box has already been turned into RGB by libheif and is left as is.
"""

from __future__ import annotations

import io
from functools import cache, lru_cache

from PIL import Image, ImageCms

WHITE = (255, 255, 255)
"""Transparent areas become white, as they look on a web page."""

_SIXTEEN_BIT = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_PROFILE_SPACES = {"RGB": "RGB ", "L": "GRAY", "CMYK": "CMYK"}


def prepare_for_resize(image: Image.Image) -> Image.Image:
    """Convert modes Pillow resizes wrongly (palette, 1-bit, 16-bit) to L, LA, RGB, RGBA or CMYK."""
    mode = image.mode
    if mode in ("LA", "RGBA", "CMYK"):
        return image
    if mode in ("L", "RGB"):
        return image.convert("RGBA") if "transparency" in image.info else image
    if mode in _SIXTEEN_BIT:
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if mode == "1":
        return image.convert("L")
    if mode in ("PA", "La", "RGBa") or "transparency" in image.info:
        return image.convert("RGBA")
    return image.convert("RGB")


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Flatten alpha on white and convert to sRGB RGB, through the ICC profile when there is one."""
    if image.mode in ("RGBA", "LA"):
        image = _on_white(image)
    converted = _through_profile(image, icc_profile)
    if converted is not None:
        return converted
    return image if image.mode == "RGB" else image.convert("RGB")


def _on_white(image: Image.Image) -> Image.Image:
    """Composite an RGBA or LA image on white, keeping grey images grey."""
    if image.mode == "LA":
        background = Image.new("L", image.size, 255)
        background.paste(image.getchannel("L"), mask=image.getchannel("A"))
        return background
    background = Image.new("RGB", image.size, WHITE)
    background.paste(image, mask=image.getchannel("A"))
    return background


def _through_profile(image: Image.Image, icc_profile: bytes | None) -> Image.Image | None:
    """The image converted to sRGB by its profile, or None when there is nothing to convert."""
    space = _PROFILE_SPACES.get(image.mode)
    if not icc_profile or space is None:
        return None
    transform = _transform(bytes(icc_profile), image.mode, space)
    if transform is None:
        return None
    try:
        return ImageCms.applyTransform(image, transform)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None


@lru_cache(maxsize=16)
def _transform(icc_profile: bytes, mode: str, space: str) -> ImageCms.ImageCmsTransform | None:
    """A cached profile→sRGB transform; NOCACHE makes one transform safe to share across threads."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if profile.profile.xcolor_space != space:
            return None
        if mode != "CMYK" and "srgb" in (profile.profile.profile_description or "").lower():
            return None
        return ImageCms.buildTransform(
            profile, _srgb(), mode, "RGB", flags=ImageCms.Flags.NOCACHE
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    """LittleCMS's built-in sRGB profile, made once."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
