"""LocalStorage keeps bytes under sharded folders, writes atomically and never leaves its root."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from media import LocalStorage, MissingFile, Storage

SHA = "abcdef0123456789" * 4
KEY = f"display/{SHA}.jpg"


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    """A LocalStorage rooted in a fresh temporary folder."""
    return LocalStorage(tmp_path / "media")


def _files(root: Path) -> list[str]:
    """Every file under root, relative, sorted."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_is_a_storage(storage: LocalStorage) -> None:
    """LocalStorage satisfies the Storage protocol."""
    assert isinstance(storage, Storage)


def test_put_then_get_returns_the_same_bytes(storage: LocalStorage) -> None:
    """What is put under a key is what get returns, and exists says so."""
    storage.put(KEY, b"jpeg bytes", "image/jpeg")
    assert storage.get(KEY) == b"jpeg bytes"
    assert storage.exists(KEY)


def test_files_are_sharded_by_name(storage: LocalStorage) -> None:
    """`display/abcdef….jpg` lives at `display/ab/cd/abcdef….jpg`, with no temp file left."""
    storage.put(KEY, b"x", "image/jpeg")
    assert _files(storage.root) == [f"display/ab/cd/{SHA}.jpg"]


def test_putting_a_key_again_replaces_it_whole(storage: LocalStorage) -> None:
    """A second put of the same key is harmless and leaves exactly one complete file."""
    storage.put(KEY, b"first", "image/jpeg")
    storage.put(KEY, b"second", "image/jpeg")
    assert storage.get(KEY) == b"second"
    assert len(_files(storage.root)) == 1


def test_failed_write_leaves_neither_file_nor_temp_file(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the final rename fails, the temp file is removed and the key does not exist."""

    def broken_replace(source: str, target: str) -> None:
        """Fail like a full disk."""
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.put(KEY, b"x", "image/jpeg")
    assert not storage.exists(KEY)
    assert _files(storage.root) == []


def test_get_of_a_missing_key_raises_missing_file(storage: LocalStorage) -> None:
    """A missing object is MissingFile, which is a KeyError."""
    with pytest.raises(KeyError) as raised:
        storage.get(KEY)
    assert isinstance(raised.value, MissingFile)
    assert raised.value.key == KEY


def test_delete_removes_the_file_and_its_empty_folders(storage: LocalStorage) -> None:
    """After deleting the only file, no shard or kind folder is left under the root."""
    storage.put(KEY, b"x", "image/jpeg")
    storage.put(f"thumb/{SHA}.jpg", b"y", "image/jpeg")
    storage.delete(KEY)
    assert not storage.exists(KEY)
    assert sorted(p.name for p in storage.root.iterdir()) == ["thumb"]


def test_delete_of_a_missing_key_is_silent(storage: LocalStorage) -> None:
    """Deleting what is not there is not an error."""
    storage.delete(KEY)
    assert not storage.exists(KEY)


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", "/etc/passwd", "display/../../x.jpg", "display\\x.jpg", "", ".hidden",
     "display//x.jpg", "display/./x.jpg", "display/", "ảnh/x.jpg", "a" * 513, "display/x.jpg\0"],
    ids=["parent", "absolute", "parent-inside", "backslash", "empty", "dot-file",
         "empty-segment", "dot-segment", "trailing-slash", "non-ascii", "too-long", "nul"],
)
def test_refuses_keys_that_could_escape_the_root(storage: LocalStorage, key: str) -> None:
    """Absolute paths, `..`, backslashes and odd characters are refused for every operation."""
    for operation in (
        lambda: storage.put(key, b"x", "image/jpeg"),
        lambda: storage.get(key),
        lambda: storage.delete(key),
        lambda: storage.exists(key),
    ):
        with pytest.raises(ValueError, match="invalid storage key"):
            operation()
    assert not storage.root.exists()


def _age(path: Path, seconds: float) -> None:
    """Pretend the file was last written `seconds` ago."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


def test_iter_objects_lists_every_key_with_its_time(storage: LocalStorage) -> None:
    """The listing gives keys (not paths) and UTC mtimes; temp files and strays are left out."""
    storage.put(KEY, b"display", "image/jpeg")
    storage.put(f"original/{SHA}.heic", b"original", "image/heic")
    stray = storage.root / "display" / "notes.txt"
    stray.write_text("not a photo")
    temp = storage.path_for(KEY).parent / ".abc.part"
    temp.write_bytes(b"half")
    objects = sorted(storage.iter_objects(), key=lambda o: o.key)
    assert [o.key for o in objects] == [KEY, f"original/{SHA}.heic"]
    assert all(o.modified_at.utcoffset() == timedelta(0) for o in objects)


def test_iter_objects_of_an_empty_storage_is_empty(storage: LocalStorage) -> None:
    """No root folder yet: nothing, and no error."""
    assert list(storage.iter_objects()) == []


def test_remove_incomplete_deletes_only_old_temp_files(storage: LocalStorage) -> None:
    """Temp files of writes killed before their rename go once older than the cutoff."""
    storage.put(KEY, b"display", "image/jpeg")
    folder = storage.path_for(KEY).parent
    old, young = folder / ".old.part", folder / ".young.part"
    old.write_bytes(b"half")
    young.write_bytes(b"half")
    _age(old, 7200)
    _age(storage.path_for(KEY), 7200)
    removed = storage.remove_incomplete(datetime.now(UTC) - timedelta(hours=1))
    assert removed == 1
    assert not old.exists()
    assert young.exists()
    assert storage.exists(KEY)
