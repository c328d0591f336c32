"""Photos on the local disk, for a single server or development: atomic writes, sharded folders."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from media.errors import MissingFile
from media.keys import StoredObject, validate_key

FILE_MODE = 0o644
TEMP_PREFIX, TEMP_SUFFIX = ".", ".part"
"""Readable by a front web server that may serve the public derivatives from disk."""
_ATTEMPTS = 3


class LocalStorage:
    """Stores `kind/name` as `root/kind/na/me/name`, so no folder grows to millions of files."""

    def __init__(self, root: Path | str) -> None:
        """Keep the root; folders are created on the first write."""
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        """The file a key lives in, after validating the key."""
        *folders, name = validate_key(key).split("/")
        stem = (name.split(".", 1)[0] + "____")[:4]
        return self.root.joinpath(*folders, stem[:2], stem[2:], name)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write atomically (temp file, fsync, rename) so a reader never sees half a photo."""
        # The content type is implied by the key's extension on disk and is not stored.
        path = self.path_for(key)
        descriptor, temp_name = self._temp_file(path.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp_name, FILE_MODE)
            os.replace(temp_name, path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise

    def get(self, key: str) -> bytes:
        """The stored bytes, or MissingFile."""
        try:
            return self.path_for(key).read_bytes()
        except FileNotFoundError as exc:
            raise MissingFile(key) from exc

    def delete(self, key: str) -> None:
        """Remove the file if present and prune the shard folders it leaves empty."""
        path = self.path_for(key)
        path.unlink(missing_ok=True)
        folder = path.parent
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def exists(self, key: str) -> bool:
        """True when a file is stored under the key."""
        return self.path_for(key).is_file()

    def iter_objects(self) -> Iterator[StoredObject]:
        """Every stored file (temporary files of unfinished writes excluded) with its mtime."""
        for path in self._files():
            if path.name.startswith(TEMP_PREFIX):
                continue
            key = self._key_of(path)
            if key is not None:
                yield StoredObject(key, _mtime(path))

    def remove_incomplete(self, older_than: datetime) -> int:
        """Delete temporary files of writes killed before their rename, older than the cutoff."""
        removed = 0
        for path in self._files():
            if (path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX)
                    and _mtime(path) < older_than):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _files(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for folder, _subfolders, names in os.walk(self.root):
            for name in names:
                yield Path(folder, name)

    def _key_of(self, path: Path) -> str | None:
        """The key stored at `path`, or None for a file that is not where its key would put it."""
        parts = path.relative_to(self.root).parts
        if len(parts) < 4:
            return None
        key = "/".join([*parts[:-3], parts[-1]])
        try:
            return key if self.path_for(key) == path else None
        except ValueError:
            return None

    def _temp_file(self, folder: Path) -> tuple[int, str]:
        """A temp file in the target folder, retrying if a concurrent delete pruned the folder."""
        attempt = 1
        while True:
            folder.mkdir(parents=True, exist_ok=True)
            try:
                return tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
            except FileNotFoundError:
                if attempt >= _ATTEMPTS:
                    raise
                attempt += 1


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
