"""Object keys: named by the original's content hash, so the same bytes always get the same keys.

The kind is the first path segment. `original/` holds the citizen's untouched file with its EXIF
and GPS: it is private, and whoever serves media must never expose that prefix publicly.
`display/` and `thumb/` hold metadata-free JPEGs that may be public.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from media.sniff import EXTENSIONS

if TYPE_CHECKING:
    from media.pipeline import PhotoFacts

ORIGINAL = "original"
DISPLAY = "display"
THUMBNAIL = "thumbnail"
PRIVATE_PREFIXES = ("original/",)
"""Keys under these prefixes hold personal data (GPS, camera) and are never served publicly."""
MAX_KEY_LENGTH = 512

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")
_PHOTO_KEY = re.compile(r"(?:original|display|thumb)/([0-9a-f]{64})\.[a-z0-9]{2,5}")


@dataclass(frozen=True)
class StoredObject:
    """One object found in storage: its key and when it was last written (UTC)."""

    key: str
    modified_at: datetime


def photo_keys(processed: PhotoFacts) -> dict[str, str]:
    """The three keys of a photo, named by the hash of the original bytes."""
    sha = processed.sha256
    return {
        ORIGINAL: f"original/{sha}.{EXTENSIONS[processed.format]}",
        DISPLAY: f"display/{sha}.jpg",
        THUMBNAIL: f"thumb/{sha}.jpg",
    }


def content_hash_of(key: str) -> str | None:
    """The photo content hash a key was named by, or None for a key that is not a photo's."""
    match = _PHOTO_KEY.fullmatch(key)
    return match.group(1) if match else None


def validate_key(key: str) -> str:
    """Refuse keys that could leave the storage root: absolute, `..`, backslashes, odd characters."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


def is_private(key: str) -> bool:
    """True for keys that must never be served to the public."""
    return key.startswith(PRIVATE_PREFIXES)
