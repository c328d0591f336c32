"""Photos in an S3-compatible bucket (AWS, MinIO, Ceph), for servers that share storage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from media.errors import MissingFile
from media.keys import StoredObject, validate_key

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})


class S3Storage:
    """Objects under `prefix` in one bucket; the boto3 client is made on first use, not at import."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        client: Any | None = None,
    ) -> None:
        """Keep the settings; `client` lets tests hand in a stubbed boto3 client."""
        if not bucket:
            raise ValueError("S3Storage needs a bucket name")
        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        self.region = region or None
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self._access_key = access_key or None
        self._secret_key = secret_key or None
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 S3 client, created once (importing boto3 costs ~0.3 s, so only when needed)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def object_key(self, key: str) -> str:
        """The bucket key for a storage key: validated, under the prefix."""
        return self.prefix + validate_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Upload with its content type; S3 replaces whole objects, so the write is atomic."""
        self.client.put_object(
            Bucket=self.bucket, Key=self.object_key(key), Body=data, ContentType=content_type
        )

    def get(self, key: str) -> bytes:
        """The stored bytes, or MissingFile."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                raise MissingFile(key) from exc
            raise
        body = response["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def delete(self, key: str) -> None:
        """Remove the object; S3 answers success when it was already gone."""
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def exists(self, key: str) -> bool:
        """True when the object is there (a HEAD request)."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    def iter_objects(self) -> Iterator[StoredObject]:
        """Every object under the prefix (ListObjectsV2, page by page) with its LastModified."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix):]
                modified = item["LastModified"]
                if modified.tzinfo is None:
                    modified = modified.replace(tzinfo=UTC)
                yield StoredObject(key, modified.astimezone(UTC))

    def remove_incomplete(self, older_than: datetime) -> int:
        """Nothing to do: PutObject stores an object whole or not at all."""
        return 0

    def _make_client(self) -> Any:
        """A client with bounded timeouts and retries; path-style addressing for custom endpoints."""
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path"} if self.endpoint_url else {},
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self._access_key,
            aws_secret_access_key=self._secret_key,
            config=config,
        )


def _is_not_found(error: ClientError) -> bool:
    """True when S3 says the object does not exist."""
    return str(error.response.get("Error", {}).get("Code", "")) in _NOT_FOUND
