"""Idempotency-Key with REDIS_URL set: Redis holds the in-flight lock and a copy of the reply,
the database row stays the one fact that counts (a real Redis; skipped without one)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.models import Case, IdempotencyKey
from reports_app.reports import idempotency
from tests.factories import auth_headers
from tests.reports.conftest import counts, form, png_bomb
from tests.reports.test_idempotency import _digest_of, race_two_copies


def _cases() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Case))


def _lock(redis_mode, citizen, key: str) -> str:
    return f"{redis_mode.prefix}:idempotency:{citizen.id}:{key}:lock"


def _reply(redis_mode, citizen, key: str) -> str:
    return f"{redis_mode.prefix}:idempotency:{citizen.id}:{key}:reply"


class KeyReads:
    """Counts the statements that read or write idempotency_keys."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, conn, cursor, statement, *args) -> None:
        if "idempotency_keys" in statement:
            self.count += 1


@pytest.fixture
def key_reads(app):
    reads = KeyReads()
    event.listen(db.engine, "before_cursor_execute", reads)
    yield reads
    event.remove(db.engine, "before_cursor_execute", reads)


def test_first_reply_is_kept_in_the_database_and_in_redis(refdata, submit, citizen, redis_mode):
    """The row (with the response) commits with the report; Redis gets a copy; no lock is left."""
    first = submit(key="r-1")
    assert first.status_code == 201
    row = db.session.scalars(sa.select(IdempotencyKey)).one()
    assert (row.response_status, row.case_id) == (201, first.get_json()["id"])
    assert row.response_body == first.get_json()
    assert redis_mode.written() == [_reply(redis_mode, citizen, "r-1")]
    cached = json.loads(redis_mode.client.get(_reply(redis_mode, citizen, "r-1")))
    assert cached["body"] == first.get_json()
    assert 0 < redis_mode.client.pttl(_reply(redis_mode, citizen, "r-1")) <= 24 * 3600 * 1000


def test_retry_is_replayed_from_redis_without_reading_the_key_row(refdata, submit, redis_mode,
                                                                  key_reads):
    """A retry answered from Redis costs no idempotency query."""
    first = submit(key="r-2")
    key_reads.count = 0
    again = submit(key="r-2")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert key_reads.count == 0
    assert _cases() == 1


def test_reply_lost_from_redis_is_replayed_from_the_database(refdata, submit, citizen,
                                                              redis_mode):
    """Redis restarted or evicted the copy: the database row replays, and the copy comes back."""
    first = submit(key="r-3")
    redis_mode.client.delete(_reply(redis_mode, citizen, "r-3"))
    again = submit(key="r-3")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert redis_mode.written() == [_reply(redis_mode, citizen, "r-3")]
    assert _cases() == 1


def test_same_key_with_a_different_body_is_refused(refdata, submit, redis_mode):
    """The cached reply carries the body's hash: another body with the key is 422."""
    assert submit(key="r-4").status_code == 201
    other = submit(form(description="Cống thoát nước bị tắc"), key="r-4")
    assert other.status_code == 422
    assert other.get_json()["error"] == "idempotency_key_reused"
    assert _cases() == 1


def test_cached_reply_expires_with_the_key(app, refdata, submit, citizen, redis_mode):
    """A copy older than IDEMPOTENCY_TTL_HOURS by our clock replays nothing."""
    assert submit(key="r-5").status_code == 201
    name = _reply(redis_mode, citizen, "r-5")
    cached = json.loads(redis_mode.client.get(name))
    cached["expires_at"] = (utcnow() - timedelta(seconds=1)).isoformat()
    redis_mode.client.set(name, json.dumps(cached))
    db.session.execute(sa.update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    fresh = submit(key="r-5")
    assert fresh.status_code == 201
    assert "Idempotent-Replayed" not in fresh.headers
    assert _cases() == 2


def test_retry_while_another_request_holds_the_lock_gets_409(app, refdata, submit, citizen,
                                                             redis_mode, monkeypatch):
    """The lock is held (the first request is running): after the wait, 409 with Retry-After."""
    monkeypatch.setitem(app.config, "IDEMPOTENCY_WAIT_SECONDS", 0.0)
    redis_mode.client.set(_lock(redis_mode, citizen, "busy"), "someone-else", px=60_000)
    response = submit(key="busy")
    assert response.status_code == 409
    assert response.get_json()["error"] == "request_in_progress"
    assert int(response.headers["Retry-After"]) >= 1
    assert redis_mode.client.get(_lock(redis_mode, citizen, "busy")) == b"someone-else"
    assert _cases() == 0


def test_lock_of_a_crashed_request_expires_and_the_retry_runs(app, refdata, submit, citizen,
                                                             redis_mode, monkeypatch):
    """A lock whose owner died lapses after IDEMPOTENCY_LOCK_SECONDS; a waiting retry then runs."""
    monkeypatch.setitem(app.config, "IDEMPOTENCY_WAIT_SECONDS", 5.0)
    redis_mode.client.set(_lock(redis_mode, citizen, "crashed"), "dead-worker", px=300)
    response = submit(key="crashed")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert _cases() == 1


def test_failed_attempt_gives_the_lock_back(refdata, submit, citizen, redis_mode):
    """A refused photo leaves no row, no lock and no reply: the corrected retry runs."""
    refused = submit(form(photos=[png_bomb()]), key="fix")
    assert refused.status_code == 413
    assert counts()["idempotency_keys"] == 0
    assert redis_mode.written() == []
    fixed = submit(key="fix")
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers


def test_database_claim_of_another_instance_is_respected(app, refdata, submit, citizen,
                                                         redis_mode, monkeypatch):
    """A running claim row (an instance without Redis) blocks; an abandoned one is taken over."""
    monkeypatch.setitem(app.config, "IDEMPOTENCY_WAIT_SECONDS", 0.0)
    body = form()
    now = utcnow()
    db.session.add(IdempotencyKey(user_id=citizen.id, key="mixed", request_hash=_digest_of(body),
                                  created_at=now, expires_at=now + timedelta(days=1)))
    db.session.commit()
    assert submit(form(), key="mixed").status_code == 409
    db.session.execute(sa.update(IdempotencyKey).values(created_at=now - timedelta(minutes=10)))
    db.session.commit()
    taken_over = submit(form(), key="mixed")
    assert taken_over.status_code == 201
    assert _cases() == 1
    assert db.session.scalars(sa.select(IdempotencyKey.response_status)).all() == [201]


def test_unreachable_redis_falls_back_to_the_database_claim(app, refdata, submit, citizen,
                                                            monkeypatch):
    """Redis down: submissions still work, with the database claim, and still replay."""
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:18399/0")  # nothing listens
    monkeypatch.setitem(app.config, "REDIS_TIMEOUT_SECONDS", 0.2)
    app.extensions.pop("redis_client", None)
    try:
        first = submit(key="no-redis")
        again = submit(key="no-redis")
    finally:
        app.extensions.pop("redis_client", None)
    assert first.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _cases() == 1


def test_recording_loses_to_a_reply_committed_meanwhile(app, refdata, citizen, redis_mode):
    """If the lock lapsed and another request committed the key first, ours records nothing."""
    shared = idempotency.SharedLocks(redis_mode.client, redis_mode.prefix)
    claim = idempotency.begin(db.session, citizen.id, "lapsed", "a" * 64, shared=shared)
    assert isinstance(claim, idempotency.Claim)
    now = utcnow()
    with db.engine.begin() as other:  # the other request, on its own connection
        other.execute(sa.insert(IdempotencyKey).values(
            user_id=citizen.id, key="lapsed", request_hash="a" * 64, response_status=201,
            response_body={"id": 0}, created_at=now, expires_at=now + timedelta(days=1)))
    assert idempotency.record(db.session, claim, 201, {"id": 1}, None) is False
    db.session.rollback()
    idempotency.release(db.session, claim)
    assert redis_mode.written() == []


@pytest.mark.postgres_only
def test_two_simultaneous_retries_create_one_report(app, refdata, citizen, is_postgres,
                                                    redis_mode):
    """Two copies racing with the same key in Redis mode: exactly one report and one row."""
    if not is_postgres:
        pytest.skip("needs concurrent database sessions (PostgreSQL)")
    headers = {**auth_headers(citizen), "Idempotency-Key": "race-redis"}
    race_two_copies(app, headers, form())
    assert _cases() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 1
