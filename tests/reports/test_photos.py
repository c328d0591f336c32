"""Refused photos and failed transactions leave nothing behind: no row, no file."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from media import process_photo, store_processed
from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.models import CasePhoto
from reports_app.reports import service
from reports_app.reports.orphans import remove_orphan_photos
from reports_app.reports.photo_locks import hold_shared
from reports_app.reports.photos import PhotoBatch, app_storage, photo_limits
from tests.conftest import SHARED
from tests.reports.conftest import counts, files_under, form, jpeg, png_bomb

NOTHING = {"cases": 0, "case_events": 0, "case_photos": 0, "idempotency_keys": 0}


@pytest.mark.parametrize(("bad", "status", "error"), [
    (png_bomb(), 413, "image_too_large"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", 415,
     "unsupported_media_type"),
    ("Xin chào, đây không phải là ảnh.\n".encode() * 20, 415, "unsupported_media_type"),
    (jpeg(size=(800, 600))[:2000], 422, "broken_image"),
], ids=["decompression-bomb", "pdf-named-jpg", "text-named-jpg", "truncated-jpeg"])
def test_refused_photo_leaves_nothing_behind(refdata, submit, media_root, bad, status, error):
    """A bad second photo refuses the report with a clear code naming it; nothing is kept."""
    response = submit(photos=[jpeg(), (bad, "IMG_2041.jpg")], key="retry-1")
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["error"] == error
    assert body["field"] == "photos"
    assert body["index"] == 1
    assert "1" in body["errors"]["photos"]
    assert counts() == NOTHING
    assert files_under(media_root) == []


ODD_FILES = sorted(
    f"{folder}/{path.name}" for folder in ("invalid", "exif-edge")
    for path in (SHARED / "photos" / folder).glob("*") if path.is_file()) if SHARED.is_dir() else []


@pytest.mark.parametrize("name", ODD_FILES)
def test_odd_real_files_never_cause_a_server_error(refdata, submit, media_root, shared_dir,
                                                    name):
    """Broken and odd camera files give a report or a clear 4xx, and a 4xx leaves nothing."""
    data = (shared_dir / "photos" / name).read_bytes()
    response = submit(photos=[(data, name.rsplit("/", 1)[-1])])
    assert response.status_code in (201, 413, 415, 422), response.get_json()
    if response.status_code == 201:
        assert len(files_under(media_root)) == 3
    else:
        assert response.get_json()["error"] in ("broken_image", "image_too_large",
                                                "unsupported_media_type")
        assert counts() == NOTHING
        assert files_under(media_root) == []


def test_file_over_the_byte_limit_is_refused(app, refdata, submit, media_root, monkeypatch):
    """MAX_PHOTO_BYTES bounds each file: 413 file_too_large with the limit."""
    monkeypatch.setitem(app.config, "MAX_PHOTO_BYTES", 1000)
    response = submit(photos=[jpeg(size=(400, 300))])
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "file_too_large"
    assert body["limit"] == 1000
    assert body["index"] == 0
    assert counts() == NOTHING
    assert files_under(media_root) == []


@pytest.fixture
def failing_commit(monkeypatch):
    """Make the database transaction fail after the photos were written."""

    def fail(batch):  # noqa: ANN001
        real(batch)
        db.session.flush()
        raise sa.exc.OperationalError("COMMIT", {}, Exception("connection lost"))

    real = PhotoBatch.finish
    monkeypatch.setattr(PhotoBatch, "finish", fail)


def test_failed_transaction_removes_the_files_it_wrote(refdata, submit, media_root,
                                                       failing_commit):
    """If the database fails, the photos this request wrote are deleted again."""
    with pytest.raises(sa.exc.OperationalError):
        submit(photos=[jpeg(), jpeg(colour=(200, 10, 10))])
    assert counts() == NOTHING
    assert files_under(media_root) == []


def test_failed_transaction_keeps_files_an_earlier_report_uses(refdata, submit, media_root,
                                                               monkeypatch):
    """Content-hash names are shared: a file another report uses is never deleted."""
    shared = jpeg(colour=(10, 200, 10))
    assert submit(photos=[shared]).status_code == 201
    before = sorted(files_under(media_root))
    assert len(before) == 3  # original, display, thumbnail

    def fail(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(service, "submit_report", fail)
    with pytest.raises(sa.exc.OperationalError):
        submit(photos=[shared, jpeg(colour=(10, 10, 200))])
    assert sorted(files_under(media_root)) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CasePhoto)) == 1


def test_same_photo_in_two_reports_is_stored_once(refdata, submit, media_root):
    """Two reports with the same bytes share the three stored files."""
    photo = jpeg(colour=(33, 66, 99))
    assert submit(photos=[photo]).status_code == 201
    assert submit(form(photos=[photo], description="Lần hai")).status_code == 201
    assert len(files_under(media_root)) == 3
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(CasePhoto.sha256)))) == 1


def test_failed_request_keeps_the_files_another_request_is_storing(refdata, submit, media_root,
                                                                   failing_commit):
    """Two identical uploads race and the one that wrote the files fails: the other's files stay."""
    photo = jpeg(colour=(5, 120, 220))
    other = Session(db.engine)  # request B: it found the files there and is about to commit
    try:
        hold_shared(other, [hashlib.sha256(photo).hexdigest()])
        with pytest.raises(sa.exc.OperationalError):
            submit(photos=[photo])
        assert len(files_under(media_root)) == 3
    finally:
        other.close()
    # B never committed either: nothing uses the files now, so the sweep takes them.
    swept = remove_orphan_photos(db.session, app_storage(), now=utcnow(), grace=timedelta(0))
    assert (swept.orphans, swept.removed) == (3, 3)
    assert files_under(media_root) == []


def test_failed_request_removes_an_earlier_orphan_it_reused(refdata, submit, media_root,
                                                            failing_commit):
    """Files a killed request left and this one found: unused after its failure, so removed."""
    photo = jpeg(colour=(220, 120, 5))
    store_processed(app_storage(), process_photo(photo, photo_limits(current_app.config)))
    with pytest.raises(sa.exc.OperationalError):
        submit(photos=[photo])
    assert files_under(media_root) == []


def test_a_forked_worker_renders_on_threads_of_its_own(monkeypatch):
    """Threads do not survive a fork: a gunicorn worker forked from the preloaded master must
    not submit to the master's pool, whose threads it does not have."""
    from reports_app.reports import photos

    before = photos._render_pool()
    assert photos._render_pool() is before
    monkeypatch.setattr(photos, "_pool", photos._pool)  # the real pool comes back afterwards
    monkeypatch.setattr(photos.os, "getpid", lambda: -1)
    assert photos._render_pool() is not before
