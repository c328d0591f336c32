"""A processed photo is stored as three content-hash objects, all or nothing, and deleted again."""

from __future__ import annotations

from pathlib import Path

import pytest

from media import (
    LocalStorage,
    ProcessedPhoto,
    delete_keys,
    is_private,
    photo_keys,
    process_photo,
    store_processed,
)
from tests.media.builders import encoded, sample_card


class FailingStorage(LocalStorage):
    """A LocalStorage whose writes fail for keys with a given prefix."""

    def __init__(self, root: Path, failing_prefix: str) -> None:
        """Fail every put under `failing_prefix`."""
        super().__init__(root)
        self.failing_prefix = failing_prefix

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write, unless the key is under the failing prefix."""
        if key.startswith(self.failing_prefix):
            raise OSError(f"cannot write {key}")
        super().put(key, data, content_type)


@pytest.fixture(scope="module")
def photo() -> ProcessedPhoto:
    """A small processed PNG."""
    return process_photo(encoded(sample_card((200, 150)), "PNG"))


def _files(root: Path) -> list[Path]:
    """Every file under root."""
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_same_bytes_give_the_same_keys() -> None:
    """Keys depend only on the original's bytes: processing twice names the same objects."""
    data = encoded(sample_card((200, 150)), "WEBP")
    assert photo_keys(process_photo(data)) == photo_keys(process_photo(data))


def test_keys_name_the_kind_and_the_hash(photo: ProcessedPhoto) -> None:
    """original/<sha>.<ext> is private; display/<sha>.jpg and thumb/<sha>.jpg are public."""
    keys = photo_keys(photo)
    assert keys == {
        "original": f"original/{photo.sha256}.png",
        "display": f"display/{photo.sha256}.jpg",
        "thumbnail": f"thumb/{photo.sha256}.jpg",
    }
    assert [is_private(key) for key in keys.values()] == [True, False, False]


def test_store_then_delete_leaves_the_storage_empty(photo: ProcessedPhoto, tmp_path: Path) -> None:
    """store_processed writes three objects with the right bytes; delete_keys removes them all."""
    storage = LocalStorage(tmp_path / "media")
    keys = store_processed(storage, photo)
    assert storage.get(keys["original"]) == photo.original
    assert storage.get(keys["display"]) == photo.display.data
    assert storage.get(keys["thumbnail"]) == photo.thumbnail.data
    delete_keys(storage, keys)
    assert list(storage.root.iterdir()) == []


def test_failed_write_removes_what_was_written(photo: ProcessedPhoto, tmp_path: Path) -> None:
    """When the thumbnail cannot be written, the original and display written before are removed."""
    storage = FailingStorage(tmp_path / "media", "thumb/")
    with pytest.raises(OSError, match="cannot write thumb/"):
        store_processed(storage, photo)
    assert _files(storage.root) == []


def test_failed_write_keeps_objects_that_were_already_there(
    photo: ProcessedPhoto, tmp_path: Path
) -> None:
    """An original stored earlier (same photo, another report) survives a later failed store."""
    storage = FailingStorage(tmp_path / "media", "thumb/")
    original_key = photo_keys(photo)["original"]
    storage.put(original_key, photo.original, photo.content_type)
    with pytest.raises(OSError, match="cannot write thumb/"):
        store_processed(storage, photo)
    assert [path.name for path in _files(storage.root)] == [Path(original_key).name]


def test_delete_keys_tries_every_key_then_reports_the_failure(tmp_path: Path) -> None:
    """One failing delete does not stop the others; its error is raised at the end."""
    storage = LocalStorage(tmp_path / "media")
    storage.put("display/aaaa.jpg", b"a", "image/jpeg")
    storage.put("display/bbbb.jpg", b"b", "image/jpeg")
    with pytest.raises(ValueError, match="invalid storage key"):
        delete_keys(storage, ["display/aaaa.jpg", "../bad", "display/bbbb.jpg"])
    assert _files(storage.root) == []

