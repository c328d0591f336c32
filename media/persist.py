"""Write a processed photo's three objects all or nothing, and delete them again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from media.derive import JPEG_CONTENT_TYPE
from media.keys import DISPLAY, ORIGINAL, THUMBNAIL, photo_keys
from media.pipeline import PhotoFacts, ProcessedPhoto
from media.storage import Storage


def store_processed(storage: Storage, processed: ProcessedPhoto) -> dict[str, str]:
    """Store original, display and thumbnail; if one write fails, remove what this call wrote."""
    written = store_original(storage, processed)
    try:
        store_derivatives(storage, processed)
    except BaseException:
        _remove_quietly(storage, written)
        raise
    return photo_keys(processed)


def store_original(storage: Storage, photo: PhotoFacts) -> list[str]:
    """Store the untouched upload, which needs no decoding: it can be written while the
    derivatives are still being made. Returns the key if this call wrote it."""
    return _store(storage, photo, {ORIGINAL: (photo.original, photo.content_type)})


def store_derivatives(storage: Storage, processed: ProcessedPhoto) -> list[str]:
    """Store display and thumbnail; if the second write fails, remove the first. Returns the
    keys this call wrote."""
    return _store(storage, processed, {DISPLAY: (processed.display.data, JPEG_CONTENT_TYPE),
                                THUMBNAIL: (processed.thumbnail.data, JPEG_CONTENT_TYPE)})


def _store(storage: Storage, photo: PhotoFacts, contents: Mapping[str, tuple[bytes, str]]
           ) -> list[str]:
    # Keys are content hashes, so an object already present (the same photo sent before) is
    # neither rewritten nor removed on failure: another report may be using it.
    keys = photo_keys(photo)
    written: list[str] = []
    try:
        for kind, (data, content_type) in contents.items():
            key = keys[kind]
            if storage.exists(key):
                continue
            written.append(key)
            storage.put(key, data, content_type)
    except BaseException:
        _remove_quietly(storage, written)
        raise
    return written


def delete_keys(storage: Storage, keys: Mapping[str, str] | Iterable[str]) -> None:
    """Delete every key (a store_processed result or any iterable); the first failure is re-raised."""
    # The caller must know that no other record still refers to these content-hash keys.
    values = list(keys.values()) if isinstance(keys, Mapping) else list(keys)
    failure: Exception | None = None
    for key in values:
        try:
            storage.delete(key)
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


def _remove_quietly(storage: Storage, keys: Iterable[str]) -> None:
    """Best-effort cleanup after a failed write; the original error is what the caller sees."""
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # noqa: S112 - keep cleaning; the write failure is re-raised
            continue
