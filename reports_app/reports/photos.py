"""Uploaded files → checked, stored photos, for any endpoint that takes photos.

The order keeps failures cheap and clean: count, then read (bounded), then process every photo in
memory (no file written, no row touched), then write the files, then the database transaction.
Keys are content hashes, so another report may share a file: a request holds each photo's shared
lock (photo_locks) from before it looks at the storage until its commit, and if its transaction
fails it deletes the objects of its photos that no committed row uses and no other request holds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from media import (
    Limits,
    MediaError,
    ProcessedPhoto,
    Storage,
    check_photo_count,
    process_photo,
    storage_from_config,
    store_processed,
)
from reports_app.common.app_cache import per_app
from reports_app.errors import abort
from reports_app.i18n import message
from reports_app.reports.orphans import delete_if_unused
from reports_app.reports.photo_locks import hold_shared
from workflows.intake import exif_capture_time
from workflows.photos import StoredPhoto

log = logging.getLogger(__name__)

MEDIA_ERROR_STATUS: dict[str, int] = {
    "unsupported_media_type": 415,
    "file_too_large": 413,
    # Small in bytes but huge in pixels (a decompression bomb): still "too large", and the
    # client's remedy is the same as for too many bytes, so it shares 413.
    "image_too_large": 413,
    "broken_image": 422,
    "too_many_photos": 422,
}
"""HTTP status for each media refusal code (media/ knows no HTTP)."""


def photo_limits(config: Mapping[str, Any]) -> Limits:
    """The upload limits from the app config."""
    return Limits(max_bytes=int(config["MAX_PHOTO_BYTES"]),
                  max_pixels=int(config["MAX_PHOTO_PIXELS"]),
                  max_photos=int(config["MAX_PHOTOS"]))


def app_storage() -> Storage:
    """The configured photo storage, built once per app (an S3 client is costly to make)."""
    return per_app("media_storage", storage_from_config)


def refuse(exc: MediaError, field: str, index: int | None = None) -> NoReturn:
    """Answer a media refusal with its status, naming the form field and the file's position."""
    detail = [exc.message]
    errors: dict[str, Any] = {field: {str(index): detail} if index is not None else detail}
    extra: dict[str, Any] = {"field": field}
    if index is not None:
        extra["index"] = index
    if exc.limit is not None:
        extra["limit"] = exc.limit
    abort(MEDIA_ERROR_STATUS.get(exc.code, 422), exc.code, message(exc.code), errors=errors,
          **extra)


def check_count(files: Sequence[FileStorage], limits: Limits, field: str = "photos") -> None:
    """Refuse too many files before reading any of them."""
    try:
        check_photo_count(len(files), limits)
    except MediaError as exc:
        refuse(exc, field)


def read_uploads(files: Sequence[FileStorage], limits: Limits) -> list[bytes]:
    """Each file's bytes, reading at most one byte past the limit (enough to refuse it)."""
    return [f.stream.read(limits.max_bytes + 1) for f in files]


def process_uploads(blobs: Sequence[bytes], limits: Limits,
                    field: str = "photos") -> list[ProcessedPhoto]:
    """Check and reduce every photo in memory; the first refusal names its index."""
    processed = []
    for index, blob in enumerate(blobs):
        try:
            processed.append(process_photo(blob, limits))
        except MediaError as exc:
            log.info("photo %s refused: %s", index, exc.code)
            refuse(exc, field, index)
    return processed


class PhotoWriter:
    """Writes processed photos in the session's transaction and can take back what nobody uses."""

    def __init__(self, storage: Storage, tz: str, session: Session) -> None:
        """`tz` interprets EXIF capture times that carry no offset; `session` is the transaction
        that will commit the photo rows."""
        self.storage = storage
        self.tz = tz
        self.session = session
        self.used: dict[str, list[str]] = {}
        """The keys of every photo this request stored or found stored, by content hash."""

    def store(self, processed: ProcessedPhoto, now: datetime) -> StoredPhoto:
        """Write the three objects (absent ones only) and describe them for the workflow."""
        hold_shared(self.session, [processed.sha256])  # before looking: see photo_locks
        keys = store_processed(self.storage, processed)
        self.used[processed.sha256] = list(keys.values())
        meta = processed.metadata
        return StoredPhoto(
            sha256=processed.sha256, content_type=processed.content_type,
            width=processed.width, height=processed.height,
            original_key=keys["original"], display_key=keys["display"],
            thumb_key=keys["thumbnail"], exif_lat=meta.latitude, exif_lon=meta.longitude,
            exif_captured_at=exif_capture_time(meta.captured_at, self.tz, now))

    def discard(self) -> None:
        """After a failed transaction: delete the photos' objects that no case uses any more."""
        for sha, keys in self.used.items():
            delete_if_unused(self.session, self.storage, sha, keys)
        self.used = {}
