"""Photo objects no case uses: the per-content locks, `flask media cleanup` and its nightly job."""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy.orm import Session

from media import photo_keys, process_photo, store_processed
from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.reports.photo_locks import hold_shared, lock_number, try_exclusive
from reports_app.reports.photos import app_storage, photo_limits
from reports_app.workflow_context import app_calendar
from tests.reports.conftest import files_under, form, jpeg
from workflows.jobs import JobContext, declared_jobs

SHA = hashlib.sha256(b"some photo").hexdigest()


@pytest.fixture
def other_request(app):
    """A second session on its own connection: another request of the same deployment."""
    session = Session(db.engine)
    yield session
    session.close()


def _orphan(colour: tuple[int, int, int], age: timedelta | None = None) -> list[Path]:
    """What a request killed before its commit leaves: the three objects of a photo, no row."""
    processed = process_photo(jpeg(colour=colour), photo_limits(current_app.config))
    storage = app_storage()
    store_processed(storage, processed)
    paths = [storage.path_for(key) for key in photo_keys(processed).values()]
    if age is not None:
        for path in paths:
            _age(path, age)
    return paths


def _age(path: Path, age: timedelta) -> None:
    stamp = path.stat().st_mtime - age.total_seconds()
    os.utime(path, (stamp, stamp))


def test_lock_numbers_are_signed_32_bit():
    """Advisory-lock keys fit PostgreSQL's integer, whatever the hash."""
    assert lock_number("f" * 64) == -1
    assert lock_number("7fffffff" + "0" * 56) == 2**31 - 1
    assert lock_number("80000000" + "0" * 56) == -(2**31)


def test_deletion_is_refused_while_a_request_holds_the_photo(app, other_request):
    """The exclusive lock fails at once while a request holds the content, and works after."""
    hold_shared(other_request, [SHA])
    assert try_exclusive(db.session, SHA) is False
    db.session.rollback()
    other_request.commit()  # the request's transaction ends, and with it its lock
    assert try_exclusive(db.session, SHA) is True
    db.session.rollback()


def test_a_request_waits_for_a_deletion_in_progress(app, other_request):
    """A request wanting a photo that is being deleted waits until the deletion commits."""
    assert try_exclusive(db.session, SHA) is True
    held = threading.Event()

    def store() -> None:
        hold_shared(other_request, [SHA])
        held.set()

    thread = threading.Thread(target=store)
    thread.start()
    try:
        assert not held.wait(0.3), "the request did not wait for the deletion"
    finally:
        db.session.rollback()  # the deletion ends
        thread.join(timeout=10)
    assert held.is_set()
    other_request.rollback()


def test_cleanup_removes_orphans_older_than_the_grace_period(app, refdata, submit, media_root):
    """`flask media cleanup`: old unused objects and old unfinished writes go; the rest stays."""
    assert submit(form(photos=[jpeg(colour=(1, 2, 3))])).status_code == 201
    for path in files_under(media_root):
        _age(path, timedelta(days=3))
    used = sorted(files_under(media_root))
    old = _orphan((40, 50, 60), timedelta(hours=2))
    young = _orphan((70, 80, 90))
    stale_part = old[0].parent / ".tmp123.part"
    stale_part.write_bytes(b"half a photo")
    _age(stale_part, timedelta(hours=2))

    result = app.test_cli_runner().invoke(args=["media", "cleanup"])
    assert result.exit_code == 0, result.output
    assert "3 orphaned, 3 removed" in result.output
    assert "1 unfinished writes removed" in result.output
    assert sorted(files_under(media_root)) == sorted(used + young)
    assert not any(path.exists() for path in old)


def test_cleanup_with_no_grace_takes_young_orphans_too(app, refdata, media_root):
    """`--grace-minutes 0` removes every unused object (after a crash, once the retries are done)."""
    _orphan((70, 80, 90))
    result = app.test_cli_runner().invoke(args=["media", "cleanup", "--grace-minutes", "0"])
    assert result.exit_code == 0, result.output
    assert files_under(media_root) == []


def test_cleanup_keeps_an_orphan_a_request_is_storing_right_now(app, refdata, media_root,
                                                               other_request):
    """The same photo arriving again while the sweep runs: its files are not deleted under it."""
    paths = _orphan((11, 22, 33), timedelta(hours=2))
    hold_shared(other_request, [hashlib.sha256(jpeg(colour=(11, 22, 33))).hexdigest()])
    result = app.test_cli_runner().invoke(args=["media", "cleanup"])
    assert result.exit_code == 0, result.output
    assert "3 in use right now" in result.output
    assert all(path.exists() for path in paths)


def test_orphan_sweep_is_a_nightly_job(app, refdata, media_root):
    """The declared job runs the same sweep with MEDIA_ORPHAN_GRACE_MINUTES."""
    job = next(j for j in declared_jobs() if j.id == "remove_orphan_photos")
    assert (job.trigger, dict(job.trigger_args)) == ("cron", {"hour": 3, "minute": 15})
    _orphan((99, 98, 97), timedelta(hours=2))
    outcome = job.run(db.session, JobContext(now=utcnow(), calendar=app_calendar(),
                                             config=current_app.config))
    assert "3 removed" in outcome
    assert files_under(media_root) == []
