"""S3Storage speaks plain S3 (checked with botocore's Stubber, no network) and starts lazily."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from media import MissingFile, S3Storage, Storage

BUCKET = "field-reports"
KEY = "display/" + "ab" * 32 + ".jpg"


@pytest.fixture
def storage() -> S3Storage:
    """An S3Storage with a prefix and explicit credentials."""
    return S3Storage(
        BUCKET,
        region="ap-southeast-1",
        access_key="test-access",
        secret_key="test-secret",
        prefix="/hanoi/",
    )


@pytest.fixture
def stub(storage: S3Storage) -> Iterator[Stubber]:
    """A Stubber on the storage's client that insists every expected call was made."""
    with Stubber(storage.client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_is_a_storage(storage: S3Storage) -> None:
    """S3Storage satisfies the Storage protocol."""
    assert isinstance(storage, Storage)


def test_put_sends_the_content_type_under_the_prefix(storage: S3Storage, stub: Stubber) -> None:
    """put is one PutObject with ContentType, the key under the normalised prefix."""
    stub.add_response(
        "put_object",
        {},
        {"Bucket": BUCKET, "Key": f"hanoi/{KEY}", "Body": b"jpeg", "ContentType": "image/jpeg"},
    )
    storage.put(KEY, b"jpeg", "image/jpeg")


def test_get_returns_the_object_body(storage: S3Storage, stub: Stubber) -> None:
    """get is one GetObject and returns the body bytes."""
    body = StreamingBody(io.BytesIO(b"jpeg"), 4)
    stub.add_response("get_object", {"Body": body}, {"Bucket": BUCKET, "Key": f"hanoi/{KEY}"})
    assert storage.get(KEY) == b"jpeg"


def test_get_of_a_missing_object_raises_missing_file(storage: S3Storage, stub: Stubber) -> None:
    """NoSuchKey becomes MissingFile, like the local storage."""
    stub.add_client_error("get_object", service_error_code="NoSuchKey", http_status_code=404)
    with pytest.raises(MissingFile):
        storage.get(KEY)


def test_delete_sends_delete_object(storage: S3Storage, stub: Stubber) -> None:
    """delete is one DeleteObject for the prefixed key."""
    stub.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": f"hanoi/{KEY}"})
    storage.delete(KEY)


@pytest.mark.parametrize(("status", "expected"), [(200, True), (404, False)])
def test_exists_asks_head_object(
    storage: S3Storage, stub: Stubber, status: int, expected: bool
) -> None:
    """exists is one HeadObject: found is True, 404 is False."""
    if status == 200:
        stub.add_response("head_object", {}, {"Bucket": BUCKET, "Key": f"hanoi/{KEY}"})
    else:
        stub.add_client_error("head_object", service_error_code="404", http_status_code=404)
    assert storage.exists(KEY) is expected


def test_other_s3_errors_are_not_hidden(storage: S3Storage, stub: Stubber) -> None:
    """Access denied is not 'missing': the ClientError reaches the caller."""
    stub.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
    with pytest.raises(ClientError, match="AccessDenied"):
        storage.get(KEY)


def test_invalid_keys_are_refused_before_any_request(storage: S3Storage, stub: Stubber) -> None:
    """A key with `..` never reaches S3."""
    with pytest.raises(ValueError, match="invalid storage key"):
        storage.put("../secrets", b"x", "text/plain")


def test_client_is_created_once_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """No client exists until needed; then one, with endpoint, region, keys and path style."""
    calls: list[dict[str, object]] = []
    real_client = boto3.session.Session.client

    def spy(self: boto3.session.Session, *args: object, **kwargs: object) -> object:
        """Record the client's settings, then make it."""
        calls.append(kwargs)
        return real_client(self, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", spy)
    storage = S3Storage(
        BUCKET, endpoint_url="http://127.0.0.1:9000", region="us-east-1",
        access_key="minio", secret_key="minio-secret",
    )
    assert calls == []
    assert storage.client is storage.client
    assert len(calls) == 1
    assert storage.client.meta.endpoint_url == "http://127.0.0.1:9000"
    assert storage.client.meta.region_name == "us-east-1"
    assert storage.client.meta.config.s3 == {"addressing_style": "path"}
    assert (calls[0]["aws_access_key_id"], calls[0]["aws_secret_access_key"]) == (
        "minio", "minio-secret")


def test_iter_objects_lists_the_prefix_page_by_page(storage: S3Storage, stub: Stubber) -> None:
    """ListObjectsV2 under the prefix, following continuation tokens; keys lose the prefix."""
    when = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    other = "thumb/" + "cd" * 32 + ".jpg"
    stub.add_response("list_objects_v2", {
        "Contents": [{"Key": f"hanoi/{KEY}", "LastModified": when}], "IsTruncated": True,
        "NextContinuationToken": "page-2"}, {"Bucket": BUCKET, "Prefix": "hanoi/"})
    stub.add_response("list_objects_v2", {
        "Contents": [{"Key": f"hanoi/{other}", "LastModified": when}], "IsTruncated": False},
        {"Bucket": BUCKET, "Prefix": "hanoi/", "ContinuationToken": "page-2"})
    objects = list(storage.iter_objects())
    assert [(o.key, o.modified_at) for o in objects] == [(KEY, when), (other, when)]


def test_remove_incomplete_has_nothing_to_do(storage: S3Storage, stub: Stubber) -> None:
    """PutObject is all or nothing: there are no unfinished writes to clean up."""
    assert storage.remove_incomplete(datetime.now(UTC)) == 0
