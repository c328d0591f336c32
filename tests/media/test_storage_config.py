"""The storage is chosen and configured from the app's MEDIA_* and S3_* settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from media import LocalStorage, S3Storage, storage_from_config


def test_local_storage_is_the_default(tmp_path: Path) -> None:
    """Without MEDIA_STORAGE, files go to MEDIA_ROOT on the local disk."""
    storage = storage_from_config({"MEDIA_ROOT": str(tmp_path)})
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path


def test_s3_storage_takes_every_s3_setting() -> None:
    """MEDIA_STORAGE=s3 builds an S3Storage from the S3_* settings, blanks meaning unset."""
    storage = storage_from_config({
        "MEDIA_STORAGE": "S3",
        "S3_BUCKET": "reports",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "S3_REGION": "",
        "S3_ACCESS_KEY_ID": "key",
        "S3_SECRET_ACCESS_KEY": "secret",
        "S3_PREFIX": "prod",
    })
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.endpoint_url, storage.region, storage.prefix) == (
        "reports", "http://127.0.0.1:9000", None, "prod/")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"MEDIA_STORAGE": "local", "MEDIA_ROOT": None}, "needs MEDIA_ROOT"),
        ({"MEDIA_STORAGE": "s3", "S3_BUCKET": " "}, "needs S3_BUCKET"),
        ({"MEDIA_STORAGE": "ftp"}, "must be 'local' or 's3'"),
    ],
    ids=["local-without-root", "s3-without-bucket", "unknown-kind"],
)
def test_incomplete_config_is_refused(config: dict[str, object], message: str) -> None:
    """A storage that cannot work is a ValueError at start-up, not a failure on first upload."""
    with pytest.raises(ValueError, match=message):
        storage_from_config(config)
