"""Uploaded files → checked, stored photos, for any endpoint that takes photos.

The order keeps failures cheap and clean: count, then read (bounded), then check every photo's
header (no pixel decoded, no file written, no row touched). The pixels are then decoded on
background threads while the request does its database work with what the headers said; the
request waits for them, writes the files, and only then commits.

Keys are content hashes, so another report may share a file: a request holds each photo's shared
lock (photo_locks) from before it looks at the storage until its commit, and if its transaction
fails it deletes the objects of its photos that no committed row uses and no other request holds.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from media import (
    InspectedPhoto,
    Limits,
    MediaError,
    PhotoFacts,
    ProcessedPhoto,
    Storage,
    check_photo_count,
    inspect_photo,
    photo_keys,
    storage_from_config,
    store_derivatives,
    store_original,
)
from media.keys import DISPLAY, ORIGINAL, THUMBNAIL
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


def inspect_uploads(blobs: Sequence[bytes], limits: Limits,
                    field: str = "photos") -> list[InspectedPhoto]:
    """Check every photo's bytes and header; the first refusal names its index."""
    inspected: list[InspectedPhoto] = []
    try:
        for index, blob in enumerate(blobs):
            try:
                inspected.append(inspect_photo(blob, limits))
            except MediaError as exc:
                log.info("photo %s refused: %s", index, exc.code)
                refuse(exc, field, index)
    except BaseException:
        for photo in inspected:
            photo.close()
        raise
    return inspected


RENDER_THREADS = 2
"""Background threads per process that decode photos and make their derivatives."""
_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _render_pool() -> ThreadPoolExecutor:
    """This process's rendering threads, started on first use: a gunicorn worker forked from a
    preloaded app must not inherit the master's (threads do not survive a fork)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(RENDER_THREADS, "photo-render"))
        return _pool[1]


class PhotoBatch:
    """A request's photos from checked headers to stored files, the slow part off its thread.

    Rendering starts at once and each photo's files are written as soon as it is rendered and
    locked, while the request does its database work with what the headers said (Pillow lets go
    of the GIL while it decodes, resizes and encodes); the request waits for both only before
    it commits.
    """

    def __init__(self, inspected: list[InspectedPhoto], field: str, storage: Storage,
                 session: Session, tz: str) -> None:
        """Start rendering every photo. `tz` interprets EXIF capture times without an offset;
        `session` is the transaction that will commit the photo rows."""
        self.facts: list[PhotoFacts] = [photo.facts for photo in inspected]
        self._inspected = inspected
        self._field = field
        self._storage = storage
        self._session = session
        self._tz = tz
        self._used: dict[str, list[str]] = {}
        """The keys of every photo this request stored or found stored, by content hash."""
        self._renders: list[Future[ProcessedPhoto]] = [
            _render_pool().submit(photo.render) for photo in inspected]
        self._writes: list[Future[None]] = []

    def store(self, now: datetime) -> list[StoredPhoto]:
        """Lock the photos in the session's transaction, have their files written as soon as
        they are rendered, and describe them for the workflow."""
        if self._writes:
            raise RuntimeError("the photos of this batch are being stored already")
        if self.facts:
            hold_shared(self._session, [p.sha256 for p in self.facts])  # see photo_locks
        stored = []
        for photo, render in zip(self.facts, self._renders, strict=True):
            keys = photo_keys(photo)
            self._used[photo.sha256] = list(keys.values())
            # The original needs no pixels; the derivatives' write is queued after every render
            # already submitted, so it never waits on a render that no thread has picked up.
            self._writes.append(_render_pool().submit(store_original, self._storage, photo))
            self._writes.append(_render_pool().submit(self._write, render))
            meta = photo.metadata
            stored.append(StoredPhoto(
                sha256=photo.sha256, content_type=photo.content_type,
                width=photo.width, height=photo.height, original_key=keys[ORIGINAL],
                display_key=keys[DISPLAY], thumb_key=keys[THUMBNAIL],
                exif_lat=meta.latitude, exif_lon=meta.longitude,
                exif_captured_at=exif_capture_time(meta.captured_at, self._tz, now)))
        return stored

    def _write(self, render: Future[ProcessedPhoto]) -> None:
        store_derivatives(self._storage, render.result())

    def finish(self) -> None:
        """Wait until every photo is rendered and its files written; the first refusal names
        its index. Call before the commit."""
        for index, future in enumerate(self._renders):
            try:
                future.result()
            except MediaError as exc:
                log.info("photo %s refused: %s", index, exc.code)
                refuse(exc, self._field, index)
        for future in self._writes:
            future.result()

    def close(self) -> None:
        """Drop what has not started and wait for the rest, so nothing outlives the request."""
        futures: list[Future[Any]] = [*self._writes, *self._renders]
        for future in futures:
            future.cancel()
        wait(futures)
        for photo in self._inspected:
            photo.close()

    def discard(self) -> None:
        """After a failed transaction: delete the photos' objects that no case uses any more."""
        self.close()
        for sha, keys in self._used.items():
            delete_if_unused(self._session, self._storage, sha, keys)
        self._used = {}


@contextmanager
def photo_batch(blobs: Sequence[bytes], limits: Limits, session: Session, tz: str,
                field: str = "photos") -> Iterator[PhotoBatch]:
    """Inspect the uploads (refusing bad ones at once) and render them in the background for the
    length of the block; if the block fails, roll back and take back the files nobody uses."""
    batch = PhotoBatch(inspect_uploads(blobs, limits, field), field, app_storage(), session, tz)
    try:
        yield batch
    except BaseException:
        batch.close()
        session.rollback()
        batch.discard()
        raise
    finally:
        batch.close()
