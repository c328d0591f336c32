"""Where photo bytes live: one small interface, a local-disk and an S3 implementation, and config."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from media.keys import StoredObject
from media.local_storage import LocalStorage


@runtime_checkable
class Storage(Protocol):
    """Bytes by key. Keys are content hashes, so putting a key twice stores the same content."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store the bytes under the key, replacing any earlier object whole."""

    def get(self, key: str) -> bytes:
        """The stored bytes; raises MissingFile (a KeyError) when absent."""

    def delete(self, key: str) -> None:
        """Remove the object; no error when it is already absent."""

    def exists(self, key: str) -> bool:
        """True when an object is stored under the key."""

    def iter_objects(self) -> Iterator[StoredObject]:
        """Every stored object with its last change, in no particular order (orphan sweeps)."""

    def remove_incomplete(self, older_than: datetime) -> int:
        """Delete what writes that never finished left behind (a killed worker); how many."""


def storage_from_config(config: Mapping[str, object]) -> Storage:
    """Build the storage named by MEDIA_STORAGE ('local' by default, or 's3') from app config."""
    kind = (_setting(config, "MEDIA_STORAGE") or "local").lower()
    if kind == "local":
        root = _setting(config, "MEDIA_ROOT")
        if not root:
            raise ValueError("MEDIA_STORAGE=local needs MEDIA_ROOT")
        return LocalStorage(Path(root))
    if kind == "s3":
        bucket = _setting(config, "S3_BUCKET")
        if not bucket:
            raise ValueError("MEDIA_STORAGE=s3 needs S3_BUCKET")
        from media.s3_storage import S3Storage  # botocore: loaded only with MEDIA_STORAGE=s3

        return S3Storage(
            bucket,
            endpoint_url=_setting(config, "S3_ENDPOINT_URL"),
            region=_setting(config, "S3_REGION"),
            access_key=_setting(config, "S3_ACCESS_KEY_ID"),
            secret_key=_setting(config, "S3_SECRET_ACCESS_KEY"),
            prefix=_setting(config, "S3_PREFIX") or "",
        )
    raise ValueError(f"MEDIA_STORAGE must be 'local' or 's3', not {kind!r}")


def _setting(config: Mapping[str, object], name: str) -> str | None:
    """A config value as stripped text; missing, None and blank are all None."""
    value = config.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None
