"""Citizen photos: check and reduce uploads, read their EXIF, and store them by content hash.

Imports neither Flask nor the application: the web side maps `MediaError.code` to HTTP statuses.
"""

from typing import TYPE_CHECKING, Any

from media.derive import Derivative
from media.errors import (
    BrokenImage,
    FileTooLarge,
    ImageTooLarge,
    MediaError,
    MissingFile,
    TooManyPhotos,
    UnsupportedImage,
)
from media.exif import PhotoMetadata, read_metadata
from media.keys import StoredObject, content_hash_of, is_private, photo_keys
from media.local_storage import LocalStorage
from media.persist import delete_keys, store_derivatives, store_original, store_processed
from media.pipeline import (
    InspectedPhoto,
    Limits,
    PhotoFacts,
    ProcessedPhoto,
    check_photo_count,
    inspect_photo,
    process_photo,
)
from media.sniff import detect_format
from media.storage import Storage, storage_from_config

if TYPE_CHECKING:
    from media.s3_storage import S3Storage

__all__ = [
    "BrokenImage",
    "Derivative",
    "FileTooLarge",
    "ImageTooLarge",
    "InspectedPhoto",
    "Limits",
    "LocalStorage",
    "MediaError",
    "MissingFile",
    "PhotoFacts",
    "PhotoMetadata",
    "ProcessedPhoto",
    "S3Storage",
    "Storage",
    "StoredObject",
    "TooManyPhotos",
    "UnsupportedImage",
    "check_photo_count",
    "content_hash_of",
    "delete_keys",
    "detect_format",
    "inspect_photo",
    "is_private",
    "photo_keys",
    "process_photo",
    "read_metadata",
    "store_derivatives",
    "store_original",
    "store_processed",
    "storage_from_config",
]


def __getattr__(name: str) -> Any:
    """`media.S3Storage`, imported on first use: it loads botocore, which local storage never needs."""
    if name == "S3Storage":
        from media.s3_storage import S3Storage

        return S3Storage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
