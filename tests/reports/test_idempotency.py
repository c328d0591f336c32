"""Idempotency-Key: a retry over a weak link returns the first result, never a second report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.models import Case, IdempotencyKey
from reports_app.reports.idempotency import request_hash
from tests.concurrency import at_once
from tests.factories import auth_headers, make_user
from tests.reports.conftest import counts, form, jpeg, multipart, png_bomb
from workflows.roles import Role


def _cases() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Case))


def test_retry_with_the_same_key_returns_the_first_result(refdata, submit):
    """Same key, same body: same status and body, marked as replayed, one report."""
    first = submit(key="7c1f0a9e-retry")
    again = submit(key="7c1f0a9e-retry")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Location"] == first.headers["Location"]
    assert _cases() == 1


def test_same_key_with_a_different_body_is_refused(refdata, submit):
    """Reusing a key for another report is a client bug: 422 idempotency_key_reused."""
    assert submit(key="k-1").status_code == 201
    other_text = submit(form(description="Đèn đường hỏng"), key="k-1")
    assert other_text.status_code == 422
    assert other_text.get_json()["error"] == "idempotency_key_reused"
    other_photo = submit(form(photos=[jpeg(colour=(1, 1, 1))]), key="k-1")
    assert other_photo.get_json()["error"] == "idempotency_key_reused"
    assert _cases() == 1


def test_keys_belong_to_one_user(refdata, submit):
    """Another citizen's identical key and body make their own report."""
    neighbour = make_user(Role.CITIZEN)
    assert submit(key="shared-key").status_code == 201
    response = submit(key="shared-key", as_headers=auth_headers(neighbour))
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert _cases() == 2


def test_keys_expire_after_the_configured_time(app, refdata, submit, citizen):
    """After IDEMPOTENCY_TTL_HOURS the same key starts a new report."""
    start = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        assert submit(key="old", as_headers=auth_headers(citizen)).status_code == 201
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        replay = submit(key="old", as_headers=auth_headers(citizen))
        assert replay.headers.get("Idempotent-Replayed") == "true"
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        fresh = submit(key="old", as_headers=auth_headers(citizen))
    assert fresh.status_code == 201
    assert "Idempotent-Replayed" not in fresh.headers
    assert _cases() == 2


def test_failed_attempt_frees_the_key_for_a_corrected_retry(refdata, submit):
    """Only successes are remembered: after a refused photo the same key may be used again."""
    refused = submit(form(photos=[png_bomb()]), key="fix-and-retry")
    assert refused.status_code == 413
    assert counts()["idempotency_keys"] == 0
    fixed = submit(key="fix-and-retry")
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers


@pytest.mark.parametrize("key", ["x" * 201, "khóa-tiếng-việt", "tab\there", ""])
def test_malformed_key_is_refused(refdata, submit, key):
    """Keys are 1 to 200 printable ASCII characters."""
    response = submit(key=key)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"Idempotency-Key"}
    assert _cases() == 0


def test_retry_while_the_first_is_still_running_gets_409(app, refdata, submit, citizen,
                                                         monkeypatch):
    """When the first request holds the key past the wait, the retry is told to come back."""
    monkeypatch.setitem(app.config, "IDEMPOTENCY_WAIT_SECONDS", 0.0)
    body = form()
    digest = _digest_of(body)
    db.session.add(IdempotencyKey(user_id=citizen.id, key="busy", request_hash=digest,
                                  created_at=utcnow(), expires_at=utcnow() + timedelta(days=1)))
    db.session.commit()
    response = submit(form(), key="busy")
    assert response.status_code == 409
    assert response.get_json()["error"] == "request_in_progress"
    assert int(response.headers["Retry-After"]) >= 1
    assert _cases() == 0


def test_claim_of_a_crashed_request_is_taken_over(app, refdata, submit, citizen):
    """A key claimed long ago without a response (the worker died) does not block forever."""
    stale = utcnow() - timedelta(minutes=10)
    db.session.add(IdempotencyKey(user_id=citizen.id, key="orphan", request_hash=_digest_of(form()),
                                  created_at=stale, expires_at=stale + timedelta(days=1)))
    db.session.commit()
    response = submit(form(), key="orphan")
    assert response.status_code == 201
    assert _cases() == 1


def _digest_of(body: dict) -> str:
    """The hash the server computes for this form (fields as sent, photo bytes)."""
    fields = [(k, v) for k, v in body.items() if k != "photos"]
    return request_hash(fields, [("photos", f.stream.getvalue()) for f in body["photos"]])


def test_request_hash_ignores_field_order_but_not_photo_bytes():
    """The body hash covers every field and the photos' bytes, in a canonical order."""
    fields = [("lat", "12.6"), ("category", "roads")]
    photos = [("photos", b"one"), ("photos", b"two")]
    assert request_hash(fields, photos) == request_hash(list(reversed(fields)), photos)
    assert request_hash(fields, photos) != request_hash(fields, list(reversed(photos)))
    assert request_hash(fields, photos) != request_hash(fields[:1], photos)


def race_two_copies(app: Any, headers: dict[str, str], data: dict[str, Any]) -> list[Any]:
    """Send two copies of one submission at the same moment; both must get the report (or
    the second a 409 while the first runs). Returns the 201 answers."""
    payload, content_type = multipart(data)

    def send() -> Any:
        return app.test_client().post("/api/v1/reports", data=payload, headers=headers,
                                      content_type=content_type)

    results = at_once(send, send)
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([201, 201], [201, 409]), [r.get_json() for r in results]
    created = [r for r in results if r.status_code == 201]
    assert all(r.get_json() == created[0].get_json() for r in created)
    return created


@pytest.mark.postgres_only
def test_two_simultaneous_retries_create_one_report(app, refdata, citizen, is_postgres):
    """Two copies of a request racing with the same key: exactly one report exists."""
    if not is_postgres:
        pytest.skip("needs concurrent database sessions (PostgreSQL)")
    headers = {**auth_headers(citizen), "Idempotency-Key": "race-7f3a"}
    created = race_two_copies(app, headers, form(photos=[jpeg(size=(1200, 900))]))
    assert sum("Idempotent-Replayed" not in r.headers for r in created) == 1
    assert _cases() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 1


def test_expired_keys_are_purged_by_the_hourly_job(refdata, submit, citizen):
    """The declared housekeeping job deletes keys past their expiry, and only those."""
    from reports_app.workflow_context import app_calendar
    from workflows.jobs import JobContext, declared_jobs

    assert submit(key="fresh").status_code == 201
    old = utcnow() - timedelta(days=2)
    db.session.add(IdempotencyKey(user_id=citizen.id, key="stale", request_hash="0" * 64,
                                  created_at=old, expires_at=old + timedelta(days=1)))
    db.session.commit()
    job = next(j for j in declared_jobs() if j.id == "purge_idempotency_keys")
    assert job.run(db.session, JobContext(now=utcnow(), calendar=app_calendar())) == 1
    db.session.commit()
    assert db.session.scalars(sa.select(IdempotencyKey.key)).all() == ["fresh"]
